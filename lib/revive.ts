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
import { startEnv } from "./tart-env";

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
  const list = spawnSync("tart", ["list", "--source", "local", "--format", "json"], {
    env,
    encoding: "utf8",
  });
  if (list.status !== 0) {
    return { restarted: [], messages: [`could not read Tart's VM list: ${list.stderr.trim()}`] };
  }
  const states = new Map((JSON.parse(list.stdout) as TartListEntry[]).map((v) => [v.Name, v.State]));
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
      throw new Error(`VM ${node.name} was ${state} and could not be started again:\n${run.stderr.trim()}`);
    }
    restarted.push(node.name);
    messages.push(`VM ${node.name} was ${state}; started it again at ${run.stdout.trim()} (T09)`);
  }
  return { restarted, messages };
}
