/**
 * Lesson T09: Tart VMs die with the host (reboot, crash) while Pulumi's state still says they run, and nothing
 * in the graph changes, so a plain `pulumi up` would not notice. Before the graph runs, `pulumi up` restarts
 * every VM of this stack that exists but is not running (with the same scripts/tart-vm/start.sh the TartVm
 * resource uses); `pulumi preview` only reports them. Tart state is read as JSON (T08).
 *
 * A VM of this stack that the config no longer lists is about to be removed, and its removal needs
 * it (and its cluster's control plane) running: member removal drains and deletes the Node through the control
 * plane over SSH. So stopped VMs of this stack that are no longer configured are started too, at the size and
 * with the run options they have (no resize of a VM that is going away), with a message saying why.
 */
import { ownedBy } from "./home";
import { TartVmList, listTartVms, tartGetSync, withTartPath } from "./tart";
import { runVmScriptAsync, startEnv } from "./vm-scripts";
import { LabConfig, allNodes } from "../lib/lab-config";

export interface ReviveResult {
  /** VMs found stopped and started again (or, in preview, that `up` would start). */
  readonly restarted: string[];
  /** With `keepGoing`: the VMs that could not be started, and why. */
  readonly failed: { readonly name: string; readonly detail: string }[];
  readonly messages: string[];
}

export interface ReviveProgress {
  /** One line per VM as it goes: when its start begins, then when it runs or failed, with the time it took. */
  readonly progress?: (line: string) => void;
  /** Milliseconds, for the elapsed times (tests pass their own clock). */
  readonly now?: () => number;
  /** Carry on past a VM that does not start (`tartlab start`) instead of stopping there (`pulumi up`). */
  readonly keepGoing?: boolean;
}

/** "12s" between two clock readings. */
export const elapsed = (from: number, to: number) => `${Math.round((to - from) / 1000)}s`;

export async function reviveStoppedVms(
  config: LabConfig,
  owner: string,
  dryRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
  /**
   * Also start this stack's stopped VMs that the config no longer lists (`pulumi up` deletes
   * them, and their drain/delete needs them running). `npm run start` leaves them alone.
   */
  unlisted = true,
  /** Tart's VM list when the caller has read it already (mac/drift.ts). */
  list?: TartVmList,
  { progress = () => {}, now = Date.now, keepGoing = false }: ReviveProgress = {},
): Promise<ReviveResult> {
  // Same PATH as the scripts: without it spawnSync finds no tart (ENOENT), and status/stderr are null.
  env = withTartPath(env);
  list ??= listTartVms(env);
  if ("problem" in list) {
    return {
      restarted: [],
      failed: [],
      messages: [`could not read Tart's VM list (stopped VMs were not started again): ${list.problem}`],
    };
  }
  const entries = list.vms;
  const ours = (name: string) => ownedBy(name, owner, env);
  const configured = new Map(allNodes(config).map(({ node }) => [node.name, node]));
  const restarted: string[] = [];
  const failed: ReviveResult["failed"] = [];
  const messages: string[] = [];
  // Configured VMs first, in config order; then this stack's VMs that the config no longer lists.
  const stopped = [
    ...allNodes(config).flatMap(({ node }) => entries.filter((v) => v.Name === node.name)),
    ...(unlisted ? entries.filter((v) => !configured.has(v.Name)) : []),
  ].filter((v) => v.State !== "running" && ours(v.Name));
  for (const { Name: name, State: state } of stopped) {
    const node = configured.get(name);
    const why = node
      ? ""
      : " (it is no longer in the config: pulumi up removes it from its cluster and deletes it, which needs it running)";
    if (dryRun) {
      restarted.push(name);
      messages.push(`VM ${name} is ${state}; pulumi up will start it again${why}`);
      continue;
    }
    const t0 = now();
    progress(`${name}: starting (was ${state})`);
    const size = node ?? currentSize(name, env);
    const run = await runVmScriptAsync(
      "start.sh",
      startEnv({ name, ...size, softnetAllow: config.softnetAllow, ipWaitSeconds: config.ipWaitSeconds }),
      env,
    );
    if (!run.ok) {
      const err = run.err;
      progress(`${name}: failed after ${elapsed(t0, now())}`);
      if (!keepGoing) throw new Error(`VM ${name} was ${state} and could not be started again:\n${err}`);
      failed.push({
        name,
        detail: `could not be started again: ${err.split("\n")[0].replace(/^tartlab: /, "") || "start.sh failed"}`,
      });
      continue;
    }
    progress(`${name}: running at ${run.stdout} (${elapsed(t0, now())})`);
    restarted.push(name);
    messages.push(`VM ${name} was ${state}; started it again at ${run.stdout}${why}`);
  }
  return { restarted, failed, messages };
}

/** A VM's size as Tart has it (`tart get --format json`: CPU, Memory in MB, Disk in GB; Tart's Commands/Get.swift). */
function currentSize(
  name: string,
  env: NodeJS.ProcessEnv,
): { cpus: number; memoryMb: number; diskGb: number } {
  const { info: g = {}, run: get } = tartGetSync(name, env);
  const [cpus, memoryMb, diskGb] = [g.CPU, g.Memory, g.Disk];
  if (
    get.status !== 0 ||
    !Number.isInteger(cpus) ||
    !Number.isInteger(memoryMb) ||
    !Number.isInteger(diskGb)
  ) {
    throw new Error(
      `VM ${name} is stopped and no longer in the config, and its size could not be read to start it for its ` +
        `removal (tart get ${name} --format json: ${(get.stderr ?? "").trim() || (get.stdout ?? "").slice(0, 200)}). ` +
        `Start it by hand (tart run --no-graphics ${name}) and run pulumi up again`,
    );
  }
  return { cpus: cpus as number, memoryMb: memoryMb as number, diskGb: diskGb as number };
}
