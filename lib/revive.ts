/**
 * Lesson T09: Tart VMs die with the host (reboot, crash) while Pulumi's state still says they run, and nothing
 * in the graph changes, so a plain `pulumi up` would not notice. Before the graph runs, `pulumi up` restarts
 * every VM of this stack that exists but is not running (with the same scripts/tart-vm/start.sh the TartVm
 * resource uses); `pulumi preview` only reports them. Tart state is read as JSON (T08).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { LabConfig, allNodes } from "./lab-config";
import { bundle, loadScript } from "./shell";
import { HOMEBREW_BIN_DIRS, startEnv, withTartPath } from "./tart-env";

export interface ReviveResult {
  /** VMs found stopped and started again (or, in preview, that `up` would start). */
  readonly restarted: string[];
  readonly messages: string[];
}

interface TartListEntry {
  readonly Name: string;
  readonly State: string;
}

export function reviveStoppedVms(
  config: LabConfig,
  owner: string,
  dryRun: boolean,
  env: NodeJS.ProcessEnv = process.env,
): ReviveResult {
  // Same PATH as the scripts: without it spawnSync finds no tart (ENOENT), and status/stderr are null.
  env = withTartPath(env);
  const list = spawnSync("tart", ["list", "--source", "local", "--format", "json"], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  const failed = (why: string) => ({
    restarted: [],
    messages: [`could not read Tart's VM list (T09 revive skipped): ${why}`],
  });
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
  const states = new Map(entries.map((v) => [v.Name, v.State]));
  const home = env.TARTLAB_HOME ?? path.join(env.HOME ?? "", ".tartlab");
  const restarted: string[] = [];
  const messages: string[] = [];
  for (const { node } of allNodes(config)) {
    const state = states.get(node.name);
    if (state === undefined || state === "running") continue;
    let marker = "";
    try {
      marker = readFileSync(path.join(home, "vms", `${node.name}.owner`), "utf8").trim();
    } catch {
      // no marker: not ours
    }
    if (marker !== owner) continue;
    if (dryRun) {
      restarted.push(node.name);
      messages.push(`VM ${node.name} is ${state}; pulumi up will start it again (T09)`);
      continue;
    }
    const run = spawnSync("bash", ["-s", "--", "create"], {
      env,
      encoding: "utf8",
      input: bundle(
        { create: loadScript("tart-vm/start.sh") },
        startEnv({ ...node, softnetAllow: config.softnetAllow, ipWaitSeconds: config.ipWaitSeconds }),
      ),
    });
    if (run.status !== 0) {
      const why = run.error ? run.error.message : (run.stderr ?? "").trim();
      throw new Error(`VM ${node.name} was ${state} and could not be started again:\n${why}`);
    }
    restarted.push(node.name);
    messages.push(`VM ${node.name} was ${state}; started it again at ${run.stdout.trim()} (T09)`);
  }
  return { restarted, messages };
}
