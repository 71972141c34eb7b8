/**
 * T09: before the graph runs, `up` starts this stack's stopped VMs, restarts running ones without an address
 * or SSH banner, and the graph follows a changed address (docs/plans.md); two VMs at one address stop the
 * run, since tartlab never guesses which one answers, and `preview` only reads and says what `up` would do.
 */
import { mkdirSync, readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFileAtomic } from "./atomic-write";
import { clusterFile, ownedBy, tartlabHome, vmFile } from "./home";
import { listTartVms, tartIp, withTartPath } from "./tart";
import { STOP_DEFAULTS, StopDeadlines, runVmScript, startEnv, stopEnv } from "./vm-scripts";
import { DriftReport } from "../lib/drift-report";
import { ClusterSpec, LabConfig, NodeSpec, allNodes } from "../lib/lab-config";
import { ReviveProgress, reviveStoppedVms } from "./revive";

/** The restart's stop.sh deadlines; `guestExecSeconds` also bounds address.sh's `tart exec` (identity marker). */
export interface DriftDeps extends Partial<StopDeadlines> {
  /** Retried for a bounded time because sshd starts late in a boot. */
  readonly sshAnswers?: (ip: string) => Promise<boolean>;
  /** Shorter than a first boot's wait. */
  readonly addressWaitSeconds?: number;
  readonly progress?: ReviveProgress["progress"];
  readonly now?: ReviveProgress["now"];
}

const DEFAULTS = { addressWaitSeconds: 20, ...STOP_DEFAULTS };

/** RFC 4253 §4.2: a line starting "SSH-", possibly after other lines. */
const SSH_ID = /(^|\n)SSH-/;

/** Never rejects: a close, a refusal, too much text without a banner or the deadline all mean false. */
export function sshBanner(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let data = "";
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      data += chunk;
      if (SSH_ID.test(data)) done(true);
      else if (data.length > 8192) done(false);
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

export async function waitForSsh(
  host: string,
  { port = 22, attemptMs = 5_000, totalMs = 60_000, pauseMs = 1_000 } = {},
): Promise<boolean> {
  const end = Date.now() + totalMs;
  for (;;) {
    if (await sshBanner(host, port, attemptMs)) return true;
    if (Date.now() + pauseMs >= end) return false;
    await sleep(pauseMs);
  }
}

/** Read-only, so preview may use it where address.sh would write the identity marker. */
const readIp = (name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> =>
  tartIp(name, env, 30_000).then(
    (r) => r.ip,
    () => undefined,
  );

function readRecordedIp(name: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return readFileSync(vmFile(env, name, "ip"), "utf8").trim() || undefined;
  } catch {
    return undefined; // a lab built before addresses were recorded has none: nothing to compare with
  }
}

const repairsFile = (cluster: string, env: NodeJS.ProcessEnv) => clusterFile(env, cluster, "repairs");

function readRepairs(cluster: string, env: NodeJS.ProcessEnv): number {
  const file = repairsFile(cluster, env);
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return 0;
  }
  if (!/^\d+$/.test(text)) {
    throw new Error(
      `${file} holds "${text.slice(0, 40)}", not a repair count; pulumi up writes it (a number). Write the number ` +
        `back, or delete the file (the count starts again at 0 and the cluster's Ready check runs once more)`,
    );
  }
  return Number(text);
}

function writeRepairs(cluster: string, count: number, env: NodeJS.ProcessEnv): void {
  const file = repairsFile(cluster, env);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, `${count}\n`, 0o666);
}

/** A script meant for one VM could reach the other. */
function refuseSharedAddresses(addresses: Map<string, string>, how: string): void {
  const byIp = new Map<string, string>();
  for (const [vm, ip] of addresses) {
    const other = byIp.get(ip);
    if (other !== undefined) {
      throw new Error(
        `VMs ${other} and ${vm} both report the address ${ip} (${how}); tartlab does not guess which one answers ` +
          `there, so this run stops. A stale DHCP lease is the usual cause (tart ip reads old leases too). ` +
          `Stop one of them (tart stop ${vm}) and run pulumi up again: it starts it with a fresh lease`,
      );
    }
    byIp.set(ip, vm);
  }
}

function followUp(cluster: ClusterSpec, name: string): string {
  return cluster.nodes[0].name === name
    ? "its node steps, the control plane's re-addressing (kubeadm init: API server certificate, etcd, static pods), " +
        `the kubeconfigs and the provider endpoint of cluster ${cluster.name} (an update, not a replacement), ` +
        "Cilium's k8sServiceHost (a Helm upgrade) and every worker's join (re-pointed at the new address)"
    : `its node steps and its join (kubelet's node-ip) in cluster ${cluster.name}`;
}

export async function checkDrift(
  config: LabConfig,
  owner: string,
  dryRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
  deps: DriftDeps = {},
): Promise<DriftReport> {
  env = withTartPath(env);
  const t = { ...DEFAULTS, ...deps };
  const sshAnswers = deps.sshAnswers ?? ((ip: string) => waitForSsh(ip));
  const sshProblem = async (ip: string) =>
    (await sshAnswers(ip)) ? undefined : `does not answer SSH at ${ip}:22 (no SSH banner in time)`;

  // A stored count is reported even when nothing can be checked, so the Ready check's input stays unchanged.
  const stored = new Map(config.clusters.map((c) => [c.name, readRepairs(c.name, env)]));
  const repairs = new Map<string, number>();
  const report = (messages: string[], addresses: Record<string, string> = {}): DriftReport => ({
    addresses,
    repairs: Object.fromEntries(
      config.clusters
        .map((c) => [c.name, (stored.get(c.name) ?? 0) + (repairs.get(c.name) ?? 0)] as const)
        .filter(([, n]) => n > 0),
    ),
    messages,
  });

  const list = listTartVms(env);
  if ("problem" in list) {
    return report([
      `could not read Tart's VM list (drift check skipped; each VM's address step reads it): ${list.problem}`,
    ]);
  }
  const mine = list.vms.filter((v) => ownedBy(v.Name, owner, env));

  // 1. The survey is read-only, so a shared address stops the run before any VM is touched.
  const seen = new Map<string, string>();
  for (const v of mine) {
    const ip = v.State === "running" ? await readIp(v.Name, env) : undefined;
    if (ip) seen.set(v.Name, ip);
  }
  refuseSharedAddresses(seen, "tart ip");

  const messages: string[] = [];
  const addresses: Record<string, string> = {};
  const repaired = new Set<string>();
  const countRepair = (cluster: ClusterSpec, name: string) => {
    if (repaired.has(name)) return;
    repaired.add(name);
    const made = (repairs.get(cluster.name) ?? 0) + 1;
    repairs.set(cluster.name, made);
    if (!dryRun) writeRepairs(cluster.name, (stored.get(cluster.name) ?? 0) + made, env);
  };
  const reportAddress = (cluster: ClusterSpec, name: string, ip: string, recorded: string | undefined) => {
    addresses[name] = ip;
    if (recorded !== undefined && recorded !== ip) {
      messages.push(
        `VM ${name}'s address changed from ${recorded} to ${ip}; pulumi up follows it: ${followUp(cluster, name)}`,
      );
    }
  };

  const revived = await reviveStoppedVms(config, owner, dryRun, env, true, list, {
    progress: deps.progress,
    now: deps.now,
  });
  messages.push(...revived.messages);

  const nodes = allNodes(config).filter(({ node }) => mine.some((v) => v.Name === node.name));
  // Each probe may wait its whole bounded time, so preview runs them at once.
  const sshInPreview = new Map(
    dryRun
      ? await Promise.all(
          nodes
            .filter(({ node }) => seen.has(node.name))
            .map(async ({ node }) => [node.name, await sshProblem(seen.get(node.name)!)] as const),
        )
      : [],
  );
  for (const { cluster, node } of nodes) {
    const name = node.name;
    const recorded = readRecordedIp(name, env);
    if (revived.restarted.includes(name)) countRepair(cluster, name);

    if (dryRun) {
      if (revived.restarted.includes(name)) continue; // revive said what up does; its address is read then
      const ip = seen.get(name);
      const problem = ip === undefined ? "has no IP address (tart ip)" : sshInPreview.get(name);
      if (problem !== undefined) {
        messages.push(
          `VM ${name} is running but ${problem}; pulumi up will restart it (graceful stop, then forced; then ` +
            "start) and read its address again",
        );
        countRepair(cluster, name);
        continue;
      }
      reportAddress(cluster, name, ip!, recorded);
      continue;
    }

    let found = await prove(name);
    if ("problem" in found) {
      const why = found.problem;
      restart(node, why);
      countRepair(cluster, name);
      found = await prove(name);
      if ("problem" in found) {
        throw new Error(
          `VM ${name} ${why}; tartlab restarted it (stop.sh: guest poweroff, then tart stop; start.sh) and it still ` +
            `${found.problem}. Look at its boot log (${path.join(tartlabHome(env), "logs", `${name}.log`)}) and at ` +
            `tart ip ${name}, tart exec ${name} true, ssh to it; if it stays broken, rebuild it (pulumi up --replace ` +
            `on its ${name}-clone resource)`,
        );
      }
      messages.push(
        `VM ${name} ${why}; restarted it (graceful stop, then forced; then start) at ${found.ip}`,
      );
    }
    reportAddress(cluster, name, found.ip, recorded);
  }
  if (!dryRun) refuseSharedAddresses(new Map(Object.entries(addresses)), "after the drift check's repairs");
  return report(messages, addresses);

  async function prove(name: string): Promise<{ ip: string } | { problem: string }> {
    const r = runVmScript(
      "address.sh",
      {
        VM_NAME: name,
        ADDRESS_WAIT_SECONDS: String(t.addressWaitSeconds),
        GUEST_EXEC_SECONDS: String(t.guestExecSeconds),
      },
      env,
    );
    if (!r.ok) return { problem: `does not answer through Tart (address.sh: ${r.err})` };
    const problem = await sshProblem(r.stdout);
    return problem === undefined ? { ip: r.stdout } : { problem };
  }

  function restart(node: NodeSpec, why: string): void {
    const name = node.name;
    type Step = readonly [script: string, inputs: Record<string, string>];
    // Stopped first, since start.sh leaves a running VM as it is.
    const stop: Step = ["stop.sh", stopEnv(name, t)];
    const start: Step = [
      "start.sh",
      startEnv({ ...node, softnetAllow: config.softnetAllow, ipWaitSeconds: config.ipWaitSeconds }),
    ];
    for (const [script, inputs] of [stop, start]) {
      const r = runVmScript(script, inputs, env);
      if (!r.ok) {
        throw new Error(
          `VM ${name} ${why}; tartlab tried to restart it and ${script} failed:\n${r.err}\n` +
            `Restart it by hand (tart stop ${name}; pulumi up starts it again) or, if it stays broken, rebuild it ` +
            `(pulumi up --replace on its ${name}-clone resource)`,
        );
      }
    }
  }
}
