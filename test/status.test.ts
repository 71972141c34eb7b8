import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import * as path from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { stringify } from "yaml";
import { validateLabConfig } from "../lib/lab-config";
import { collectStatus, formatStatus, LabStatus } from "../mac/status";
import { FakeK8sApi, healthyCluster, startFakeK8sApi } from "./harness/fake-k8s-api";
import { Sandbox, sandbox } from "./harness/shell";

const ROOT = path.join(__dirname, "..");

/** A Jenkins stand-in on a port in the NodePort range (the status URL is http://<cp-ip>:<nodePort>). */
async function startJenkins(): Promise<{ server: Server; port: number; status: { code: number } }> {
  const status = { code: 200 };
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
    if (ok) return { server, port, status };
  }
}

let jenkins: Awaited<ReturnType<typeof startJenkins>>;
const apis: FakeK8sApi[] = [];

function stackConfig(nodePort: number) {
  return {
    clusters: [
      {
        name: "platform",
        podCidr: "10.10.0.0/16",
        serviceCidr: "10.96.0.0/16",
        nodes: [
          { name: "platform-master", role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 30 },
          { name: "platform-worker1", role: "worker", cpus: 2, memoryMb: 4096, diskGb: 30 },
        ],
      },
      {
        name: "dev",
        podCidr: "10.20.0.0/16",
        serviceCidr: "10.97.0.0/16",
        nodes: [{ name: "dev-master", role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 25 }],
      },
    ],
    jenkins: { enabled: true, cluster: "platform", nodePort },
  };
}

let sb: Sandbox;
let platform: FakeK8sApi;
let dev: FakeK8sApi;

/** A fake Tart VM (state files of test/fakes/tart); `ip` undefined = no DHCP lease. */
function vm(name: string, state: string, ip?: string, cpu = 2, memory = 4096) {
  const dir = path.join(sb.dir, "tart", name);
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries({ state, disk: "30", cpu, memory, mac: "m" })) {
    writeFileSync(path.join(dir, f), `${v}\n`);
  }
  if (ip) writeFileSync(path.join(dir, "ip"), `${ip}\n`);
}

function kubeconfig(cluster: string, api: FakeK8sApi) {
  const dir = path.join(sb.home, ".tartlab", "kube");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${cluster}.yaml`), api.kubeconfig(cluster), { mode: 0o600 });
}

const env = (): NodeJS.ProcessEnv => ({
  PATH: `${sb.bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: sb.home,
  FAKE_CALLS: path.join(sb.dir, "calls.log"),
  FAKE_TART_HOME: path.join(sb.dir, "tart"),
});

const config = () => validateLabConfig(stackConfig(jenkins.port)).config;
const status = (timeoutMs = 3000) => collectStatus(config(), { env: env(), probeTimeoutMs: timeoutMs });
const vmOf = (s: LabStatus, name: string) => s.vms.find((v) => v.name === name)!;
const clusterOf = (s: LabStatus, name: string) => s.clusters.find((c) => c.name === name)!;

beforeEach(async () => {
  jenkins ??= await startJenkins();
  jenkins.status.code = 200;
  sb = sandbox();
  sb.useFake("tart");
  // platform-master answers on 127.0.0.1 so the Jenkins URL reaches the stand-in.
  vm("platform-master", "running", "127.0.0.1");
  vm("platform-worker1", "running", "192.168.64.11");
  vm("dev-master", "running", "192.168.64.12");
  platform = await startFakeK8sApi(healthyCluster(["platform-master", "platform-worker1"]));
  dev = await startFakeK8sApi(healthyCluster(["dev-master"]));
  apis.push(platform, dev);
  kubeconfig("platform", platform);
  kubeconfig("dev", dev);
});
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
  sb.dispose();
});
after(() => jenkins?.server.close());

describe("lab status (fake tart, fake Kubernetes API)", () => {
  test("before the first pulumi up: not created, and the table says to run pulumi up", async () => {
    assert.equal((await status()).created, true);
    for (const name of ["platform-master", "platform-worker1", "dev-master"]) {
      rmSync(path.join(sb.dir, "tart", name), { recursive: true, force: true });
    }
    const s = await status();
    assert.equal(s.created, false);
    assert.equal(s.healthy, false);
    assert.match(formatStatus(s), /\nlab not created yet: run pulumi up\n$/);
    assert.deepEqual(
      s.clusters.map((c) => [c.context, c.server]),
      [
        ["tartlab-platform", platform.url],
        ["tartlab-dev", dev.url],
      ],
    );
  });

  test("healthy lab: VMs, clusters, Jenkins", async () => {
    const s = await status();
    assert.equal(s.healthy, true, formatStatus(s));
    assert.deepEqual(
      s.vms.map((v) => [v.name, v.cluster, v.state, v.ip, v.cpus, v.memoryMb, v.healthy]),
      [
        ["platform-master", "platform", "running", "127.0.0.1", 2, 4096, true],
        ["platform-worker1", "platform", "running", "192.168.64.11", 2, 4096, true],
        ["dev-master", "dev", "running", "192.168.64.12", 2, 4096, true],
      ],
    );
    const p = clusterOf(s, "platform");
    assert.equal(p.apiReachable, true);
    assert.equal(p.serverVersion, "v1.34.1");
    assert.deepEqual(p.nodes, {
      ready: 2,
      total: 2,
      items: [
        { name: "platform-master", ready: true, kubeletVersion: "v1.34.1" },
        { name: "platform-worker1", ready: true, kubeletVersion: "v1.34.1" },
      ],
    });
    assert.deepEqual(p.cilium, { ready: 2, desired: 2 });
    assert.equal(p.defaultStorageClass, "local-path");
    assert.deepEqual(s.jenkins, {
      enabled: true,
      cluster: "platform",
      url: `http://127.0.0.1:${jenkins.port}`,
      httpStatus: 200,
      healthy: true,
      problems: [],
    });
    // T08: Tart state read as JSON only.
    const lists = sb.calls().filter((c) => c.startsWith("tart list"));
    assert.deepEqual(lists, ["tart list --source local --format json"]);
    assert.match(formatStatus(s), /lab healthy\n$/);
  });

  test("a stopped VM is reported (no stale IP asked for), the rest still probed", async () => {
    vm("platform-worker1", "stopped", "192.168.64.11"); // the lease file still has its address
    const s = await status();
    const w = vmOf(s, "platform-worker1");
    assert.equal(w.state, "stopped");
    assert.equal(w.ip, undefined);
    assert.equal(w.healthy, false);
    assert.match(w.problems.join(), /is stopped; tartlab start starts it again/);
    assert.equal(w.cpus, 2, "cpus/memory still read with tart get");
    assert.ok(!sb.calls().includes("tart ip platform-worker1"));
    assert.equal(s.healthy, false);
    assert.equal(clusterOf(s, "dev").healthy, true);
  });

  test("a running VM without an IP is reported, never crashes", async () => {
    rmSync(path.join(sb.dir, "tart", "dev-master", "ip"));
    const s = await status();
    const d = vmOf(s, "dev-master");
    assert.equal(d.state, "running");
    assert.equal(d.ip, undefined);
    assert.match(d.problems.join(), /running but has no IP address \(no IP address found/);
    assert.equal(s.healthy, false);
  });

  test("the Jenkins URL needs the control plane's IP", async () => {
    rmSync(path.join(sb.dir, "tart", "platform-master", "ip"));
    const s = await status();
    assert.equal(s.jenkins.healthy, false);
    assert.match(s.jenkins.problems.join(), /no URL: control plane platform-master has no IP/);
  });

  // No timer decides this: the hung request is aborted by the test once the fake server holds it, as the probe's
  // deadline would abort it; every other probe keeps its real (generous) deadline.
  test("an API server that does not answer: status returns and says so", { timeout: 30_000 }, async () => {
    platform.state.hang = true;
    const expired = new AbortController();
    void platform.hung().then(() => expired.abort());
    const s = await collectStatus(config(), {
      env: env(),
      probeTimeoutMs: 20_000,
      probeSignal: (target, ms) => (target === "platform" ? expired.signal : AbortSignal.timeout(ms)),
    });
    const p = clusterOf(s, "platform");
    assert.equal(p.apiReachable, false);
    assert.deepEqual(p.problems, [`API server ${platform.url} does not answer: no answer in 20000 ms`]);
    assert.ok(platform.requests.includes("/version"), "it was asked");
    assert.equal(clusterOf(s, "dev").healthy, true);
    assert.equal(s.healthy, false);
    assert.match(formatStatus(s), /FAIL\s+platform\s+DOWN/);
  });

  test("a NotReady node and a partly ready Cilium", async () => {
    platform.state.nodes[1].ready = false;
    platform.state.cilium = { desired: 2, ready: 1 };
    const s = await status();
    const p = clusterOf(s, "platform");
    assert.equal(p.nodes?.ready, 1);
    assert.equal(p.nodes?.total, 2);
    assert.deepEqual(p.problems, ["node platform-worker1 is NotReady", "Cilium agents 1/2 ready"]);
    assert.equal(p.healthy, false);
  });

  test("no Cilium, no default StorageClass, no kubeconfig, Jenkins erroring", async () => {
    dev.state.cilium = undefined;
    dev.state.storageClasses = [{ name: "slow", default: false }];
    rmSync(path.join(sb.home, ".tartlab", "kube", "platform.yaml"));
    jenkins.status.code = 503;
    const s = await status();
    assert.deepEqual(clusterOf(s, "dev").problems, [
      "Cilium is not installed (no DaemonSet kube-system/cilium)",
      "no default StorageClass (PVCs stay Pending)",
    ]);
    assert.equal(clusterOf(s, "dev").defaultStorageClass, null);
    assert.match(clusterOf(s, "platform").problems.join(), /no kubeconfig at .*platform\.yaml/);
    assert.deepEqual(s.jenkins.problems, ["answers HTTP 503"]);
  });

  test("VMs missing from Tart, and Tart itself missing", async () => {
    rmSync(path.join(sb.dir, "tart", "dev-master"), { recursive: true });
    let s = await status();
    assert.deepEqual(vmOf(s, "dev-master").problems, ["not created (run pulumi up)"]);
    rmSync(path.join(sb.bin, "tart"));
    s = await status();
    assert.ok(s.vms.every((v) => v.state === "unknown" && /tart not found on PATH/.test(v.problems.join())));
    assert.equal(s.healthy, false);
  });

  test("snapshots are read beside the lab; one that cannot be listed (no tart) leaves the lab's health alone", async () => {
    const createdAt = new Date(Date.now() - 3 * 3600_000).toISOString();
    const rows = [{ name: "before-cni", createdAt, vms: 3, sizeGb: 18, problems: [] }];
    let asked = 0;
    const listed = await collectStatus(config(), {
      env: env(),
      probeTimeoutMs: 3000,
      snapshots: async (timeoutMs) => {
        asked = timeoutMs;
        return rows;
      },
    });
    assert.equal(asked, 3000, "the lister gets the probe deadline");
    assert.deepEqual(listed.snapshots, rows);
    assert.equal(listed.healthy, true);
    assert.match(
      formatStatus(listed),
      /\nSnapshots\n\s+NAME\s+AGE\s+VMS\s+SIZE\s+NOTES\n\s+before-cni\s+3h\s+3\s+18 GB\n/,
    );
    const failed = await collectStatus(config(), {
      env: env(),
      probeTimeoutMs: 3000,
      snapshots: () => Promise.reject(new Error("tart not found on PATH")),
    });
    assert.equal(failed.snapshots, undefined);
    assert.equal(failed.snapshotsProblem, "cannot list snapshots: tart not found on PATH");
    assert.equal(failed.healthy, true);
    assert.match(formatStatus(failed), /\nSnapshots\n\s+cannot list snapshots: tart not found on PATH\n/);
    assert.doesNotMatch(formatStatus(await status()), /Snapshots/, "no lister, no section");
  });

  test("a size that differs from the config is a note, not a failure", async () => {
    vm("dev-master", "running", "192.168.64.12", 4, 8192);
    const s = await status();
    assert.deepEqual(vmOf(s, "dev-master").notes, [
      "4 CPUs, config says 2",
      "8192 MB memory, config says 4096",
    ]);
    assert.equal(s.healthy, true);
  });
});

describe("ClusterMesh in the lab status (KVStoreMesh metrics through the pod proxy)", () => {
  const meshed = () => ({ ...config(), clusterMesh: ["platform", "dev"] });
  /** Each side's clustermesh-apiserver, reporting `readiness` of its peers. */
  const server = (api: FakeK8sApi, readiness: Record<string, 0 | 1>, pod = "clustermesh-apiserver-7d9f") => {
    api.state.clustermesh = [{ name: pod, phase: "Running", metricsPort: 9964, readiness }];
  };
  const meshRequests = (api: FakeK8sApi) =>
    api.requests.filter((r) => r.startsWith("/api/v1/namespaces/kube-system/pods"));

  test("mesh off: no ClusterMesh block and no request for it", async () => {
    server(platform, { dev: 1 });
    server(dev, { platform: 1 });
    const s = await status();
    assert.equal(s.mesh, undefined);
    assert.doesNotMatch(formatStatus(s), /ClusterMesh/);
    assert.deepEqual([...meshRequests(platform), ...meshRequests(dev)], []);
  });

  test("every pair connected: each side's KVStoreMesh reports the other ready", async () => {
    server(platform, { dev: 1 });
    server(dev, { platform: 1 });
    const s = await collectStatus(meshed(), { env: env(), probeTimeoutMs: 3000 });
    assert.deepEqual(s.mesh, {
      pairs: [
        {
          clusters: ["platform", "dev"],
          state: "connected",
          links: [
            { from: "platform", to: "dev", state: "connected" },
            { from: "dev", to: "platform", state: "connected" },
          ],
        },
      ],
      healthy: true,
    });
    assert.equal(s.healthy, true, formatStatus(s));
    assert.match(
      formatStatus(s),
      /\nClusterMesh\n\s+PAIR\s+STATE\s+PROBLEMS\n\s+ok\s+platform <-> dev\s+connected\n/,
    );
    assert.deepEqual(meshRequests(platform), [
      "/api/v1/namespaces/kube-system/pods",
      "/api/v1/namespaces/kube-system/pods/clustermesh-apiserver-7d9f%3A9964/proxy/metrics",
    ]);
  });

  test("one side not connected: the pair is not connected, naming the side and why", async () => {
    server(platform, { dev: 1 });
    server(dev, { platform: 0 });
    let s = await collectStatus(meshed(), { env: env(), probeTimeoutMs: 3000 });
    assert.equal(s.mesh?.pairs[0].state, "not connected");
    assert.deepEqual(s.mesh?.pairs[0].links[1], {
      from: "dev",
      to: "platform",
      state: "not connected",
      detail: "KVStoreMesh reports it not ready",
    });
    assert.equal(s.mesh?.healthy, false);
    assert.equal(s.healthy, false);
    assert.match(
      formatStatus(s),
      /\n\s+FAIL\s+platform <-> dev\s+not connected\s+dev -> platform: KVStoreMesh reports it not ready\n/,
    );
    // A peer KVStoreMesh does not list, and a clustermesh-apiserver that does not run yet.
    server(dev, {});
    platform.state.clustermesh![0].phase = "Pending";
    s = await collectStatus(meshed(), { env: env(), probeTimeoutMs: 3000 });
    assert.deepEqual(
      s.mesh?.pairs[0].links.map((l) => [l.state, l.detail]),
      [
        ["not connected", "no clustermesh-apiserver runs (clustermesh-apiserver-7d9f Pending)"],
        ["not connected", "KVStoreMesh does not list it"],
      ],
    );
  });

  test("a cluster that does not answer: its pairs are unknown, not 'not connected'", async () => {
    server(platform, { dev: 1 });
    server(dev, { platform: 0 }); // what dev's KVStoreMesh sees while platform is down
    await platform.close();
    const s = await collectStatus(meshed(), { env: env(), probeTimeoutMs: 3000 });
    const pair = s.mesh!.pairs[0];
    assert.equal(pair.state, "unknown");
    assert.deepEqual(pair.links[0], {
      from: "platform",
      to: "dev",
      state: "unknown",
      detail: "cluster platform does not answer",
    });
    assert.match(
      formatStatus(s),
      /\n\s+FAIL\s+platform <-> dev\s+unknown\s+platform -> dev: cluster platform does not answer; dev -> platform: KVStoreMesh reports it not ready\n/,
    );
    // KVStoreMesh's metrics switched off: the view is unknown too, and says where to switch them on.
    dev.state.clustermesh![0].metricsPort = undefined;
    const off = await collectStatus(meshed(), { env: env(), probeTimeoutMs: 3000 });
    assert.deepEqual(off.mesh!.pairs[0].links[1], {
      from: "dev",
      to: "platform",
      state: "unknown",
      detail:
        "pod clustermesh-apiserver-7d9f exports no KVStoreMesh metrics (chart: clustermesh.apiserver.metrics.kvstoremesh.enabled)",
    });
  });
});

/** ops/status.ts as `npm run status` runs it, on a stack file in a temp dir. */
function cli(args: string[], stack: unknown): Promise<{ code: number; stdout: string; stderr: string }> {
  writeFileSync(path.join(sb.dir, "Pulumi.test.yaml"), stringify({ config: stack }));
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "ops/status.ts"), "--dir", sb.dir, "--stack", "test", ...args],
      { cwd: ROOT, env: env() },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end();
  });
}

const stackFile = () => ({
  ...Object.fromEntries(Object.entries(stackConfig(jenkins.port)).map(([k, v]) => [`tartlab:${k}`, v])),
  "tartlab:sshPassword": { secure: "v1:c2VjcmV0" },
});

describe("npm run status (ops/status.ts)", () => {
  test("@kubernetes/client-node loads with plain require() on this Node (CI: 20; users: 22+)", () => {
    // 2.x's undici needs zlib.createZstdDecompress (Node 22.15+) and fails to load on Node 20
    // (shared/facts/upstream-review.md); 1.x uses node-fetch. The package is ESM: require() of it needs Node's
    // require(esm) (20.19+/22.12+); tsx, which runs ops/, loads it on any Node 22.
    const pin = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies[
      "@kubernetes/client-node"
    ];
    assert.match(pin, /^1\.\d+\.\d+$/, "an exact 1.x pin");
    const out = execFileSync(
      process.execPath,
      [
        "-e",
        `const k8s = require("@kubernetes/client-node");
const kc = new k8s.KubeConfig();
kc.loadFromString(process.argv[1]);
process.stdout.write(typeof kc.makeApiClient(k8s.CoreV1Api).listNode + " " + kc.getCurrentCluster().server);`,
        platform.kubeconfig("platform"),
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(out, `function ${platform.url}`);
  });

  test("--json on a healthy lab: exit 0, the model, no credentials", async () => {
    const r = await cli(["--json"], stackFile());
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const s = JSON.parse(r.stdout);
    assert.equal(s.stack, "test");
    assert.equal(s.healthy, true);
    assert.deepEqual(
      s.clusters.map((c: any) => [c.name, c.nodes.ready, c.nodes.total]),
      [
        ["platform", 2, 2],
        ["dev", 1, 1],
      ],
    );
    const key = platform.clientKey.split("\n")[1]; // a line of the PEM body
    for (const secret of [key, "c2VjcmV0"]) assert.ok(!r.stdout.includes(secret));
  });

  test("--json on a broken lab: exit 1, and the whole model still printed", async () => {
    vm("dev-master", "stopped", "192.168.64.12");
    platform.state.nodes[1].ready = false;
    const r = await cli(["--json"], stackFile());
    assert.equal(r.code, 1, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.healthy, false);
    assert.deepEqual(
      s.vms.filter((v: any) => !v.healthy).map((v: any) => [v.name, v.state]),
      [["dev-master", "stopped"]],
    );
    assert.deepEqual(clusterOf(s, "platform").problems, ["node platform-worker1 is NotReady"]);
    assert.ok(!r.stdout.includes(platform.clientKey.split("\n")[1]));
  });

  test("table on an unhealthy lab: exit 1", async () => {
    vm("dev-master", "stopped", "192.168.64.12");
    const r = await cli([], stackFile());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAIL\s+dev-master\s+dev\s+stopped/);
    assert.match(r.stdout, /lab NOT healthy/);
    assert.ok(!r.stdout.includes(platform.clientKey.split("\n")[1]));
  });

  test("bad config or usage: exit 2 naming the key", async () => {
    const bad = { ...stackFile(), "tartlab:kubernetesVersion": 1.3 };
    const r = await cli([], bad);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /tartlab:kubernetesVersion is the number 1\.3/);
    assert.equal((await cli(["--frob"], stackFile())).code, 2);
  });
});
