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
import { ownedBy } from "../mac/home";
import { TartVmList, listTartVms, tartGetSync, withTartPath } from "../mac/tart";
import { runVmScript, startEnv } from "../mac/vm-scripts";
import { LabConfig, allNodes } from "./lab-config";

export interface ReviveResult {
  /** VMs found stopped and started again (or, in preview, that `up` would start). */
  readonly restarted: string[];
  readonly messages: string[];
}

export function reviveStoppedVms(
  config: LabConfig,
  owner: string,
  dryRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
  /**
   * Also start this stack's stopped VMs that the config no longer lists (`pulumi up` deletes
   * them, and their drain/delete needs them running). `npm run start` leaves them alone.
   */
  unlisted = true,
  /** Tart's VM list when the caller has read it already (lib/drift.ts). */
  list?: TartVmList,
): ReviveResult {
  // Same PATH as the scripts: without it spawnSync finds no tart (ENOENT), and status/stderr are null.
  env = withTartPath(env);
  list ??= listTartVms(env);
  if ("problem" in list) {
    return {
      restarted: [],
      messages: [`could not read Tart's VM list (T09 revive skipped): ${list.problem}`],
    };
  }
  const entries = list.vms;
  const ours = (name: string) => ownedBy(name, owner, env);
  const configured = new Map(allNodes(config).map(({ node }) => [node.name, node]));
  const restarted: string[] = [];
  const messages: string[] = [];
  // Configured VMs first, in config order; then this stack's VMs that the config no longer lists.
  const stopped = [
    ...allNodes(config).flatMap(({ node }) => entries.filter((v) => v.Name === node.name)),
    ...(unlisted ? entries.filter((v) => !configured.has(v.Name)) : []),
  ].filter((v) => v.State !== "running" && ours(v.Name));
  for (const { Name: name, State: state } of stopped) {
    const node = configured.get(name);
    const why = node
      ? "(T09)"
      : "(it is no longer in the config: pulumi up removes it from its cluster and deletes it, which needs it running)";
    if (dryRun) {
      restarted.push(name);
      messages.push(`VM ${name} is ${state}; pulumi up will start it again ${why}`);
      continue;
    }
    const size = node ?? currentSize(name, env);
    const run = runVmScript(
      "start.sh",
      startEnv({ name, ...size, softnetAllow: config.softnetAllow, ipWaitSeconds: config.ipWaitSeconds }),
      env,
    );
    if (!run.ok) throw new Error(`VM ${name} was ${state} and could not be started again:\n${run.err}`);
    restarted.push(name);
    messages.push(`VM ${name} was ${state}; started it again at ${run.stdout} ${why}`);
  }
  return { restarted, messages };
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
