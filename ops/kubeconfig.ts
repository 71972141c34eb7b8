/**
 * Day-2 entry for kubectl contexts, for a local Command or a user to call:
 *   node --import tsx ops/kubeconfig.ts merge <cluster> [--set-current] < kubeconfig
 *   node --import tsx ops/kubeconfig.ts remove <cluster>
 * The cluster's kubeconfig arrives on stdin, never in argv (argv is visible in `ps`; it holds a client key).
 * Target file: the first path of $KUBECONFIG, else ~/.kube/config (lib/kubeconfig-merge.ts).
 */
import { mergeIntoKubeconfigFile, removeFromKubeconfigFile } from "../lib/kubeconfig-merge";

const USAGE =
  "usage: kubeconfig.ts merge <cluster> [--set-current] < kubeconfig | kubeconfig.ts remove <cluster>";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(argv: string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith("--"));
  const [verb, cluster, ...rest] = argv.filter((a) => !a.startsWith("--"));
  const unknown = flags.filter((f) => f !== "--set-current" || verb !== "merge");
  if (!cluster || rest.length > 0 || unknown.length > 0 || (verb !== "merge" && verb !== "remove")) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (verb === "merge") {
    const kubeconfig = await readStdin();
    if (kubeconfig.trim() === "") {
      process.stderr.write("tartlab: no kubeconfig on stdin\n");
      return 2;
    }
    const file = await mergeIntoKubeconfigFile(cluster, kubeconfig, {
      setCurrent: flags.includes("--set-current"),
    });
    process.stderr.write(`tartlab: context tartlab-${cluster} merged into ${file}\n`);
  } else {
    const { file, removed } = await removeFromKubeconfigFile(cluster);
    process.stderr.write(
      removed
        ? `tartlab: context tartlab-${cluster} removed from ${file}\n`
        : `tartlab: ${file} has no tartlab-${cluster} entries; nothing to remove\n`,
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    process.stderr.write(`tartlab: ${e.message}\n`);
    process.exitCode = 1;
  },
);
