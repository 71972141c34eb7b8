/**
 * The `~/.tartlab` layout on the Mac, as scripts/tart-vm/clone.sh and the other scripts write it, and the owner
 * marker: `vms/<vm>.owner` holds `<project>/<stack>` of the stack that made the VM, so a stack never touches
 * another stack's VMs or VMs tartlab did not make.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

/** ~/.tartlab, or TARTLAB_HOME (tests), as the scripts have it. */
export function tartlabHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TARTLAB_HOME ?? path.join(env.HOME ?? homedir(), ".tartlab");
}

/** A per-VM file the scripts keep: `owner` (marker), `ip` (recorded address), `source` (cloned from). */
export const vmFile = (env: NodeJS.ProcessEnv, vm: string, kind: "owner" | "ip" | "source") =>
  path.join(tartlabHome(env), "vms", `${vm}.${kind}`);

/** A per-cluster file: `json` (mac/cluster-record.ts), `repairs` (mac/drift.ts). */
export const clusterFile = (env: NodeJS.ProcessEnv, cluster: string, kind: "json" | "repairs") =>
  path.join(tartlabHome(env), "clusters", `${cluster}.${kind}`);

/** The kubeconfig file of a cluster (V10: one per cluster, mode 600). */
export const clusterKubeconfigPath = (env: NodeJS.ProcessEnv, cluster: string) =>
  path.join(tartlabHome(env), "kube", `${cluster}.yaml`);

/** The marker a stack's VMs carry. */
export const ownerMarker = (project: string, stack: string) => `${project}/${stack}`;

/** The marker of `stack` of the project in `dir`, read from its Pulumi.yaml (for commands run outside Pulumi). */
export function stackOwner(dir: string, stack: string): string {
  const project = (parse(readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name?: unknown })?.name;
  if (typeof project !== "string" || project === "") {
    throw new Error(`${path.join(dir, "Pulumi.yaml")} has no project name`);
  }
  return ownerMarker(project, stack);
}

/** The stack that made `vm`, from its owner marker; undefined when it has none (not made by tartlab). */
export function ownerOf(vm: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return readFileSync(vmFile(env, vm, "owner"), "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Whether the stack `owner` made the VM. */
export const ownedBy = (vm: string, owner: string, env: NodeJS.ProcessEnv) => ownerOf(vm, env) === owner;
