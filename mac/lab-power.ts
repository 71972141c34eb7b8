/**
 * `npm run stop` / `npm run start`: stop runs scripts/tart-vm/stop.sh (guest poweroff, then `tart stop`) on
 * every running VM of this stack at once; start is `pulumi up`'s revive, then a Ready check. Both touch only
 * configured VMs whose owner marker names this stack.
 */
import { ownerOf } from "./home";
import { tartList, withTartPath } from "./tart";
import { StopDeadlines, runVmScriptAsync, stopEnv } from "./vm-scripts";
import { LabConfig, allNodes } from "../lib/lab-config";
import { elapsed, reviveStoppedVms } from "./revive";
import { LabStatus, collectStatus } from "./status";

export type PowerAction =
  "stopped" | "already-stopped" | "started" | "already-running" | "absent" | "not-ours" | "failed";

export interface VmPower {
  readonly name: string;
  readonly action: PowerAction;
  readonly detail: string;
}

/** Stop's stop.sh deadlines, and start's Ready wait. */
export interface PowerOptions extends Partial<StopDeadlines> {
  readonly env?: NodeJS.ProcessEnv;
  /** start: how long to wait for the lab to be Ready (mac/status.ts) after the VMs run. */
  readonly readySeconds?: number;
  readonly readyPollMs?: number;
  readonly probeTimeoutMs?: number;
  readonly progress?: (line: string) => void;
  /** Tests pass their own clock. */
  readonly now?: () => number;
}

interface Plan {
  readonly env: NodeJS.ProcessEnv;
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

/** Exactly as TartVm runs it. */
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
  readonly status?: LabStatus;
  readonly readyAfterSeconds?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startLab(
  config: LabConfig,
  owner: string,
  opts: PowerOptions = {},
): Promise<StartResult> {
  const plan = await planFor(config, owner, opts);
  // Past a VM that does not start, so the rest of the lab comes up.
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
  // An absent, foreign or failed VM keeps the lab unhealthy, so one check is enough.
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

export function formatPower(vms: readonly VmPower[]): string {
  const width = Math.max(...vms.map((v) => v.name.length), 2);
  return vms.map((v) => `${v.name.padEnd(width)}  ${v.action.padEnd(15)}  ${v.detail}\n`).join("");
}
