/**
 * `tartlab kubeconfig` lists each cluster's context, API server and file; `merge <cluster> [--set-current]`
 * and `remove <cluster>` are the host-kubeconfig step's entry, with the kubeconfig on stdin because argv
 * shows in `ps` and it holds a client key.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { contextName } from "../lib/kubeconfig";
import { kubeconfigTarget, mergeIntoKubeconfigFile, removeFromKubeconfigFile } from "../mac/kubeconfig-merge";
import { clusterKubeconfigPath } from "../mac/home";
import { CliIo, EXIT, Invocation, UsageError, labOf } from "./cli";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function serverOf(file: string): string {
  if (!existsSync(file)) return "not created yet: run pulumi up";
  try {
    const server: unknown = parse(readFileSync(file, "utf8"))?.clusters?.[0]?.cluster?.server;
    return typeof server === "string" ? server : "(no server)";
  } catch {
    return "(unreadable)";
  }
}

export async function kubeconfigCommand(inv: Invocation, io: CliIo): Promise<number> {
  const [verb, cluster] = inv.positionals;
  if (verb === undefined) {
    if (inv.values["set-current"]) throw new UsageError("--set-current goes with merge");
    const rows = labOf(inv).clusters.map((c) => {
      const file = clusterKubeconfigPath(io.env, c.name);
      return [contextName(c.name), serverOf(file), file];
    });
    const width = (i: number) => Math.max(...rows.map((r) => r[i].length));
    for (const [context, server, file] of rows) {
      io.out(`${context.padEnd(width(0))}  ${server.padEnd(width(1))}  ${file}\n`);
    }
    io.out(`(kubectl --context <name>; pulumi up merges them into ${kubeconfigTarget(io.env)})\n`);
    return EXIT.ok;
  }
  if ((verb !== "merge" && verb !== "remove") || cluster === undefined) {
    throw new UsageError(cluster === undefined ? "missing argument <cluster>" : `unknown argument ${verb}`);
  }
  if (verb === "remove" && inv.values["set-current"]) throw new UsageError("--set-current goes with merge");
  if (verb === "merge") {
    const kubeconfig = await readStdin();
    if (kubeconfig.trim() === "") {
      io.err("tartlab: no kubeconfig on stdin\n");
      return EXIT.usage;
    }
    const file = await mergeIntoKubeconfigFile(cluster, kubeconfig, {
      setCurrent: inv.values["set-current"] === true,
    });
    io.err(`tartlab: context ${contextName(cluster)} merged into ${file}\n`);
  } else {
    const { file, removed } = await removeFromKubeconfigFile(cluster);
    io.err(
      removed
        ? `tartlab: context ${contextName(cluster)} removed from ${file}\n`
        : `tartlab: ${file} has no ${contextName(cluster)} entries; nothing to remove\n`,
    );
  }
  return EXIT.ok;
}

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(["kubeconfig", ...process.argv.slice(2)]));
}
