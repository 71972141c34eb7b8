/**
 * A whole fake lab for the dashboard tests, as test/status.test.ts builds it: fake `tart` VMs (test/fakes/tart
 * state files), one fake Kubernetes API per cluster with its kubeconfig in ~/.tartlab/kube/, a Jenkins stand-in
 * on a NodePort-range port, and Pulumi.test.yaml with secret values. A fake `pulumi` that would print the Jenkins
 * password records any call, so a test can prove nothing asked for it. `startDashboard` runs ops/dashboard.ts as
 * `npm run dashboard` does.
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { snapshotMarker, snapshotVmName } from "../../lib/snapshot-manifest";
import { FakeK8sApi, healthyCluster, startFakeK8sApi } from "./fake-k8s-api";
import { Sandbox, sandbox } from "./shell";
import { tartEnv, tartVm } from "./tart-mac";
import { asStackConfig, rawCluster } from "./stacks";

export const ROOT = path.join(__dirname, "..", "..");
export const STACK = "test";
/** What the fake `pulumi stack output jenkinsAdminPassword --show-secrets` would print. */
export const FAKE_JENKINS_PASSWORD = "fake-jenkins-Pa55word-7Qz";
/** A Pulumi secret in the stack file (the ssh password's ciphertext). */
export const FAKE_STACK_SECRET = "v1:c2VjcmV0LXNzaC1wYXNzd29yZA==";

export interface FakeLab {
  readonly sb: Sandbox;
  readonly platform: FakeK8sApi;
  readonly dev: FakeK8sApi;
  readonly jenkins: { readonly port: number; readonly status: { code: number } };
  env(): NodeJS.ProcessEnv;
  /** Writes a fake Tart VM; `ip` undefined = no DHCP lease. */
  vm(name: string, state: string, ip?: string, cpu?: number, memory?: number): void;
  /** Writes a snapshot as `tartlab snapshot save` leaves it: stopped snapshot VMs (Tart Size in GB) and a manifest. */
  snapshot(name: string, createdAt: string, vms: readonly (readonly [vm: string, sizeGb: number])[]): void;
  /** Every healthy state again: VMs running with IPs, APIs answering, nodes Ready, Jenkins 200. */
  heal(): void;
  /** Values that must never appear in the page or its JSON. */
  secrets(): string[];
  close(): Promise<void>;
}

async function startJenkins(status: { code: number }): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.writeHead(status.code);
    res.end("<html>Jenkins</html>");
  });
  for (;;) {
    const port = 30000 + Math.floor(Math.random() * 2768);
    const ok = await new Promise<boolean>((r) => {
      server.once("error", () => r(false));
      server.listen(port, "127.0.0.1", () => r(true));
    });
    if (ok) return { server, port };
  }
}

function stackFile(nodePort: number) {
  const lab = {
    clusters: [
      rawCluster("platform", "10.10.0.0/16", "10.96.0.0/16", { diskGb: 30 }),
      rawCluster("dev", "10.20.0.0/16", "10.97.0.0/16", { workers: 0 }),
    ],
    jenkins: { enabled: true, cluster: "platform", nodePort },
  };
  return {
    config: {
      ...asStackConfig(lab),
      "tartlab:sshPassword": { secure: FAKE_STACK_SECRET },
    },
  };
}

const HEALTHY_VMS: [string, string][] = [
  // platform-master answers on 127.0.0.1 so the Jenkins URL (its IP + NodePort) reaches the stand-in.
  ["platform-master", "127.0.0.1"],
  ["platform-worker1", "192.168.64.11"],
  ["dev-master", "192.168.64.12"],
];

export async function startFakeLab(): Promise<FakeLab> {
  const status = { code: 200 };
  const jenkins = await startJenkins(status);
  const sb = sandbox();
  sb.useFake("tart");
  sb.fake("pulumi", `echo ${FAKE_JENKINS_PASSWORD}`);
  const platform = await startFakeK8sApi(healthyCluster(["platform-master", "platform-worker1"]));
  const dev = await startFakeK8sApi(healthyCluster(["dev-master"]));
  const kubeDir = path.join(sb.home, ".tartlab", "kube");
  mkdirSync(kubeDir, { recursive: true });
  for (const [name, api] of [
    ["platform", platform],
    ["dev", dev],
  ] as const) {
    writeFileSync(path.join(kubeDir, `${name}.yaml`), api.kubeconfig(name), { mode: 0o600 });
  }
  writeFileSync(path.join(sb.dir, `Pulumi.${STACK}.yaml`), stringify(stackFile(jenkins.port)));

  const lab: FakeLab = {
    sb,
    platform,
    dev,
    jenkins: { port: jenkins.port, status },
    env: () => tartEnv(sb),
    vm(name, state, ip, cpu = 2, memory = 4096) {
      tartVm(sb, name, { state, disk: 30, cpu, memory }, `tartlab/${STACK}`);
      const dir = path.join(sb.dir, "tart", name);
      if (ip) writeFileSync(path.join(dir, "ip"), `${ip}\n`);
      else rmSync(path.join(dir, "ip"), { force: true });
    },
    snapshot(name, createdAt, vms) {
      const marked = vms.map(([vm, size]) => {
        const snapshotVm = snapshotVmName(STACK, name, vm);
        lab.vm(snapshotVm, "stopped");
        writeFileSync(path.join(sb.dir, "tart", snapshotVm, "size"), `${size}\n`);
        writeFileSync(
          path.join(sb.home, ".tartlab", "vms", `${snapshotVm}.owner`),
          `${snapshotMarker(`tartlab/${STACK}`)}\n`,
        );
        return { name: vm, cluster: vm.split("-")[0], snapshotVm, mac: "m" };
      });
      const dir = path.join(sb.home, ".tartlab", "snapshots", STACK, name);
      mkdirSync(dir, { recursive: true });
      const manifest = {
        version: 1,
        name,
        stack: STACK,
        owner: `tartlab/${STACK}`,
        createdAt,
        configDigest: "-",
        config: {},
        vms: marked,
        records: {},
        pulumiState: false,
      };
      writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest), { mode: 0o600 });
    },
    heal() {
      for (const [name, ip] of HEALTHY_VMS) lab.vm(name, "running", ip);
      for (const api of [platform, dev]) {
        api.state.hang = false;
        for (const n of api.state.nodes) n.ready = true;
        api.state.cilium = { desired: api.state.nodes.length, ready: api.state.nodes.length };
        api.state.storageClasses = [{ name: "local-path", default: true }];
      }
      status.code = 200;
    },
    secrets() {
      const out = [FAKE_JENKINS_PASSWORD, FAKE_STACK_SECRET, "c2VjcmV0LXNzaC1wYXNzd29yZA"];
      for (const [name, api] of [
        ["platform", platform],
        ["dev", dev],
      ] as const) {
        const user = (parse(api.kubeconfig(name)) as { users: { user: Record<string, string> }[] }).users[0]
          .user;
        for (const k of ["client-key-data", "client-certificate-data"]) {
          out.push(user[k], user[k].slice(20, 80));
          // A line of the decoded PEM body, as it would appear if a key or certificate leaked undecoded.
          out.push(Buffer.from(user[k], "base64").toString("utf8").split("\n")[1]);
        }
      }
      return out;
    },
    async close() {
      await Promise.all([platform.close(), dev.close()]);
      jenkins.server.closeAllConnections();
      await new Promise<void>((r) => jenkins.server.close(() => r()));
      sb.dispose();
    },
  };
  lab.heal();
  return lab;
}

export interface RunningDashboard {
  readonly url: string;
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Runs ops/dashboard.ts against the lab; resolves with the URL it prints, rejects with its stderr if it exits. */
export function startDashboard(lab: FakeLab, args: string[] = []): Promise<RunningDashboard> {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "ops/dashboard.ts"), "--dir", lab.sb.dir, "--stack", STACK, ...args],
    { cwd: ROOT, env: lab.env(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number>((r) => proc.on("exit", (code) => r(code ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`dashboard printed no URL in 30 s; stderr:\n${stderr}`));
    }, 30_000);
    exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`dashboard exited ${code}: ${stderr}`), { code, stderr, stdout }));
    });
    proc.stdout.on("data", () => {
      const m = /(http:\/\/\S+\/)\n/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: m[1],
        proc,
        stdout: () => stdout,
        stderr: () => stderr,
        async stop() {
          if (proc.exitCode === null) proc.kill("SIGTERM");
          await exited;
        },
      });
    });
  });
}

/** Runs ops/dashboard.ts expecting it to exit (bad usage or a refused bind). */
export function dashboardExit(
  lab: FakeLab,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return startDashboard(lab, args).then(
    async (d) => {
      await d.stop();
      throw new Error(`dashboard started at ${d.url} with ${args.join(" ")}`);
    },
    (e: Error & { code?: number; stderr?: string; stdout?: string }) => {
      if (e.code === undefined) throw e;
      return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    },
  );
}
