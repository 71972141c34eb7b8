/**
 * T09: VMs die with the host while Pulumi's state says they run, so before the graph runs `pulumi up`
 * restarts this stack's stopped VMs with scripts/tart-vm/start.sh (preview only reports them), including
 * unlisted ones whose removal needs them running to drain their Node.
 */
import { ownedBy } from "./home";
import { TartVmList, listTartVms, tartGetSync, withTartPath } from "./tart";
import { runVmScriptAsync, startEnv } from "./vm-scripts";
import { LabConfig, allNodes } from "../lib/lab-config";

export interface ReviveResult {
  /** In preview, the VMs `up` would start. */
  readonly restarted: string[];
  /** With `keepGoing`: the VMs that could not be started, and why. */
  readonly failed: { readonly name: string; readonly detail: string }[];
  readonly messages: string[];
}

export interface ReviveProgress {
  readonly progress?: (line: string) => void;
  /** Tests pass their own clock. */
  readonly now?: () => number;
  readonly keepGoing?: boolean;
}

export const elapsed = (from: number, to: number) => `${Math.round((to - from) / 1000)}s`;

export async function reviveStoppedVms(
  config: LabConfig,
  owner: string,
  dryRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
  /**
   * `pulumi up` deletes unlisted VMs and their drain needs them running; `npm run start` leaves them alone.
   */
  unlisted = true,
  list?: TartVmList,
  { progress = () => {}, now = Date.now, keepGoing = false }: ReviveProgress = {},
): Promise<ReviveResult> {
  // Without the scripts' PATH spawnSync finds no tart.
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

/** Tart's Commands/Get.swift: Memory in MB, Disk in GB. */
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
