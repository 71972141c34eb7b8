/**
 * `npm run stop` / `npm run start`: pause the lab to save the battery and bring it back.
 *
 * Stop runs scripts/tart-vm/stop.sh (guest poweroff through `tart exec`, a bounded wait, then `tart stop`: the
 * same script TartVm uses before a resize or delete) for every running VM of this stack, in parallel. Start is
 * `pulumi up`'s revive (mac/revive.ts, which runs scripts/tart-vm/start.sh), then a Ready check of the lab
 * through mac/status.ts. Both act only on VMs listed in this stack's config whose owner marker
 * (~/.tartlab/vms/<vm>.owner, written by scripts/tart-vm/clone.sh) names this stack: VMs of other stacks and VMs
 * tartlab did not make are never touched. Tart state is read as JSON (T08).
 */
import { ownerOf } from "./home";
import { tartList, withTartPath } from "./tart";
import { StopDeadlines, runVmScriptAsync, stopEnv } from "./vm-scripts";
import { LabConfig, allNodes } from "../lib/lab-config";
import { elapsed, reviveStoppedVms } from "./revive";
import { LabStatus, collectStatus } from "./status";

/** What happened to one VM of the config. */
export type PowerAction =
  "stopped" | "already-stopped" | "started" | "already-running" | "absent" | "not-ours" | "failed";

export interface VmPower {
  readonly name: string;
  readonly action: PowerAction;
  readonly detail: string;
}

/** Stop's stop.sh deadlines, and start's Ready wait. */
export interface PowerOptions extends Partial<StopDeadlines> {
  /** Environment for tart, the scripts and ~/.tartlab (PATH, HOME, TARTLAB_HOME). */
  readonly env?: NodeJS.ProcessEnv;
  /** start: how long to wait for the lab to be Ready (mac/status.ts) after the VMs run. */
  readonly readySeconds?: number;
  /** start: pause between two Ready checks. */
  readonly readyPollMs?: number;
  /** start: deadline of each status probe. */
  readonly probeTimeoutMs?: number;
  /** A line per VM as it goes (its state, the time it took); `tartlab start|stop` prints them. */
  readonly progress?: (line: string) => void;
  /** Milliseconds, for the elapsed times (tests pass their own clock). */
  readonly now?: () => number;
}

interface Plan {
  /** The environment Tart runs in: the options' (else this process's) with Tart's PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** This stack's VMs with their Tart state. */
  readonly ours: { name: string; state: string }[];
  /** VMs of the config that are absent or not ours: reported, never touched. */
  readonly others: VmPower[];
}

async function planFor(config: LabConfig, owner: string, opts: PowerOptions): Promise<Plan> {
  const env = withTartPath(opts.env ?? process.env);
  const states = new Map((await tartList(env, 60_000)).map((v) => [v.Name, v.State]));
  const ours: Plan["ours"] = [];
  const others: VmPower[] = [];
  for (const { node } of allNodes(config)) {
    const state = states.get(node.name);
    const marker = ownerOf(node.name, env);
    if (state === undefined) {
      others.push({ name: node.name, action: "absent", detail: "does not exist (run pulumi up)" });
    } else if (marker !== owner) {
      others.push({
        name: node.name,
        action: "not-ours",
        detail: marker
          ? `left alone: made by stack ${marker}, not ${owner}`
          : "left alone: not made by tartlab (no owner marker)",
      });
    } else ours.push({ name: node.name, state });
  }
  return { env, ours, others };
}

/** Runs scripts/tart-vm/stop.sh for one VM exactly as TartVm does. */
async function runStopScript(vm: string, env: NodeJS.ProcessEnv, opts: PowerOptions): Promise<VmPower> {
  const r = await runVmScriptAsync("stop.sh", stopEnv(vm, opts), env);
  const lines = r.err
    .split("\n")
    .map((l) => l.replace(/^tartlab: /, "").trim())
    .filter((l) => l !== "");
  return {
    name: vm,
    action: r.ok ? "stopped" : "failed",
    detail: lines.join("; ") || `stop.sh exited with ${r.code}`,
  };
}

export interface StopResult {
  readonly ok: boolean;
  readonly vms: readonly VmPower[];
}

/** Stops every running VM of this stack, gracefully first (stop.sh), all at once. */
export async function stopLab(
  config: LabConfig,
  owner: string,
  opts: PowerOptions = {},
): Promise<StopResult> {
  const { progress = () => {}, now = Date.now } = opts;
  const plan = await planFor(config, owner, opts);
  const t0 = now();
  const stopped = await Promise.all(
    plan.ours.map(async (vm): Promise<VmPower> => {
      if (vm.state !== "running")
        return { name: vm.name, action: "already-stopped", detail: `is ${vm.state}` };
      progress(`${vm.name}: stopping`);
      const r = await runStopScript(vm.name, plan.env, opts);
      progress(`${vm.name}: ${r.action} (${elapsed(t0, now())})`);
      return r;
    }),
  );
  const vms = inConfigOrder(config, [...stopped, ...plan.others]);
  return { ok: vms.every((v) => v.action !== "failed"), vms };
}

export interface StartResult {
  readonly ok: boolean;
  readonly vms: readonly VmPower[];
  /** The lab's status after the Ready check. */
  readonly status?: LabStatus;
  readonly readyAfterSeconds?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts this stack's stopped VMs with `pulumi up`'s revive, then waits (bounded) for the lab to be Ready. */
export async function startLab(
  config: LabConfig,
  owner: string,
  opts: PowerOptions = {},
): Promise<StartResult> {
  const plan = await planFor(config, owner, opts);
  // Only the configured VMs; past one that does not start, so the rest of the lab comes up.
  const revived = await reviveStoppedVms(config, owner, false, plan.env, false, undefined, {
    progress: opts.progress,
    now: opts.now,
    keepGoing: true,
  });
  const vms = inConfigOrder(config, [
    ...plan.ours.map((vm): VmPower => {
      const failed = revived.failed.find((f) => f.name === vm.name);
      if (failed) return { name: vm.name, action: "failed", detail: `was ${vm.state}; ${failed.detail}` };
      return revived.restarted.includes(vm.name)
        ? { name: vm.name, action: "started", detail: `was ${vm.state}` }
        : { name: vm.name, action: "already-running", detail: "is running" };
    }),
    ...plan.others,
  ]);
  // A VM that is absent, not ours or failed keeps the lab unhealthy whatever we wait for: one check, then report.
  const waitSeconds = plan.others.length > 0 || revived.failed.length > 0 ? 0 : (opts.readySeconds ?? 300);
  const t0 = Date.now();
  const deadline = t0 + waitSeconds * 1000;
  for (;;) {
    const status = await collectStatus(config, { env: plan.env, probeTimeoutMs: opts.probeTimeoutMs });
    if (status.healthy && revived.failed.length === 0) {
      return { ok: true, vms, status, readyAfterSeconds: Math.round((Date.now() - t0) / 1000) };
    }
    if (Date.now() >= deadline) return { ok: false, vms, status };
    await sleep(opts.readyPollMs ?? 5_000);
  }
}

function inConfigOrder(config: LabConfig, vms: VmPower[]): VmPower[] {
  const order = allNodes(config).map(({ node }) => node.name);
  return [...vms].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** One line per VM, for the terminal. */
export function formatPower(vms: readonly VmPower[]): string {
  const width = Math.max(...vms.map((v) => v.name.length), 2);
  return vms.map((v) => `${v.name.padEnd(width)}  ${v.action.padEnd(15)}  ${v.detail}\n`).join("");
}
