/**
 * The `~/.tartlab` layout the scripts write, and the owner marker `vms/<vm>.owner` (`<project>/<stack>`) that
 * keeps a stack off other stacks' VMs and VMs tartlab did not make.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

/** TARTLAB_HOME is for tests. */
export function tartlabHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TARTLAB_HOME ?? path.join(env.HOME ?? homedir(), ".tartlab");
}

export const vmFile = (env: NodeJS.ProcessEnv, vm: string, kind: "owner" | "ip" | "source") =>
  path.join(tartlabHome(env), "vms", `${vm}.${kind}`);

export const clusterFile = (env: NodeJS.ProcessEnv, cluster: string, kind: "json" | "repairs") =>
  path.join(tartlabHome(env), "clusters", `${cluster}.${kind}`);

/** V10: one per cluster, mode 600. */
export const clusterKubeconfigPath = (env: NodeJS.ProcessEnv, cluster: string) =>
  path.join(tartlabHome(env), "kube", `${cluster}.yaml`);

export const ownerMarker = (project: string, stack: string) => `${project}/${stack}`;

/** For commands run outside Pulumi. */
export function stackOwner(dir: string, stack: string): string {
  const project = (parse(readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name?: unknown })?.name;
  if (typeof project !== "string" || project === "") {
    throw new Error(`${path.join(dir, "Pulumi.yaml")} has no project name`);
  }
  return ownerMarker(project, stack);
}

export function ownerOf(vm: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return readFileSync(vmFile(env, vm, "owner"), "utf8").trim();
  } catch {
    return undefined;
  }
}

export const ownedBy = (vm: string, owner: string, env: NodeJS.ProcessEnv) => ownerOf(vm, env) === owner;
