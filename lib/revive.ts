/**
 * Lesson T09: Tart VMs die with the host (reboot, crash) while Pulumi's state still says they run, and nothing
 * in the graph changes, so a plain `pulumi up` would not notice. Before the graph runs, `pulumi up` restarts
 * every VM of this stack that exists but is not running (with the same scripts/tart-vm/start.sh the TartVm
 * resource uses); `pulumi preview` only reports them. Tart state is read as JSON (T08).
 *
 * Issue 10, row 7: a VM of this stack that the config no longer lists is about to be removed, and its removal needs
 * it (and its cluster's control plane) running: member removal drains and deletes the Node through the control
 * plane over SSH. So stopped VMs of this stack that are no longer configured are started too, at the size and
 * with the run options they have (no resize of a VM that is going away), with a message saying why.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { LabConfig, allNodes } from "./lab-config";
import { bundle, loadScript } from "./shell";
import { HOMEBREW_BIN_DIRS, startEnv, withTartPath } from "./tart-env";

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

/** start.sh for one VM, without blocking the event loop (progress lines reach Pulumi's log while it runs). */
function runStartScript(input: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }>((resolve) => {
    const child = spawn("bash", ["-s", "--", "create"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (error) => resolve({ status: null, stdout, stderr, error }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}

export interface TartListEntry {
  readonly Name: string;
  readonly State: string;
}

/** What `tart list --source local --format json` says (T08: JSON, never the text table), or why it could not. */
export type TartVmList = { readonly vms: TartListEntry[] } | { readonly problem: string };

/** Reads Tart's VM list; `env` must already have the scripts' PATH (`withTartPath`). */
export function listTartVms(env: NodeJS.ProcessEnv): TartVmList {
  const list = spawnSync("tart", ["list", "--source", "local", "--format", "json"], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  const failed = (problem: string) => ({ problem });
  if (list.error) {
    const code = (list.error as NodeJS.ErrnoException).code;
    return failed(
      code === "ENOENT"
        ? `tart is not on PATH (${env.PATH}, which includes ${HOMEBREW_BIN_DIRS.join(" and ")}); ` +
            "install it: brew install cirruslabs/cli/tart"
        : `tart list failed to run: ${list.error.message}`,
    );
  }
  if (list.status !== 0) {
    return failed(
      `tart list exited with ${list.status ?? `signal ${list.signal}`}: ${(list.stderr ?? "").trim()}`,
    );
  }
  let entries: TartListEntry[];
  try {
    entries = JSON.parse(list.stdout) as TartListEntry[];
  } catch {
    return failed(`tart list printed no JSON: ${list.stdout.slice(0, 200)}`);
  }
  // JSON of another shape (an object, null entries) must not crash the program with a TypeError (issue 9 table).
  if (!Array.isArray(entries) || !entries.every((v) => v !== null && typeof v === "object")) {
    return failed(`tart list printed JSON that is not a list of VMs: ${list.stdout.slice(0, 200)}`);
  }
  return { vms: entries };
}

/** ~/.tartlab, or TARTLAB_HOME (tests), as the scripts have it. */
export function tartlabHome(env: NodeJS.ProcessEnv): string {
  return env.TARTLAB_HOME ?? path.join(env.HOME ?? "", ".tartlab");
}

/** The stack that made the VM, as its owner marker (written by clone.sh) records it; undefined: no marker. */
export function ownerMarker(name: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return readFileSync(path.join(tartlabHome(env), "vms", `${name}.owner`), "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Whether this stack made the VM: its owner marker names `owner` (no marker: not ours). */
export function ownedBy(name: string, owner: string, env: NodeJS.ProcessEnv): boolean {
  return ownerMarker(name, env) === owner;
}

export async function reviveStoppedVms(
  config: LabConfig,
  owner: string,
  dryRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
  /**
   * Also start this stack's stopped VMs that the config no longer lists (issue 10 row 7: `pulumi up` deletes
   * them, and their drain/delete needs them running). `npm run start` leaves them alone.
   */
  unlisted = true,
  /** Tart's VM list when the caller has read it already (lib/drift.ts). */
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
    const run = await runStartScript(
      bundle(
        { create: loadScript("tart-vm/start.sh") },
        startEnv({ name, ...size, softnetAllow: config.softnetAllow, ipWaitSeconds: config.ipWaitSeconds }),
      ),
      env,
    );
    if (run.status !== 0) {
      const err = run.error ? run.error.message : run.stderr.trim();
      progress(`${name}: failed after ${elapsed(t0, now())}`);
      if (!keepGoing) throw new Error(`VM ${name} was ${state} and could not be started again:\n${err}`);
      failed.push({
        name,
        detail: `could not be started again: ${err.split("\n")[0].replace(/^tartlab: /, "") || "start.sh failed"}`,
      });
      continue;
    }
    progress(`${name}: running at ${run.stdout.trim()} (${elapsed(t0, now())})`);
    restarted.push(name);
    messages.push(`VM ${name} was ${state}; started it again at ${run.stdout.trim()}${why}`);
  }
  return { restarted, failed, messages };
}

/** A VM's size as Tart has it (`tart get --format json`: CPU, Memory in MB, Disk in GB; facts/tart.md). */
function currentSize(
  name: string,
  env: NodeJS.ProcessEnv,
): { cpus: number; memoryMb: number; diskGb: number } {
  const get = spawnSync("tart", ["get", name, "--format", "json"], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  let g: { CPU?: unknown; Memory?: unknown; Disk?: unknown } = {};
  try {
    g = JSON.parse(get.stdout ?? "") as typeof g;
  } catch {
    // reported below
  }
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
