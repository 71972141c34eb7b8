/**
 * `tartlab snapshot save|restore|delete <name> [--force]` and `tartlab snapshot list` (mac/snapshot.ts); a
 * failure says what state the lab is in.
 */
import { formatSnapshotList } from "../lib/snapshot-manifest";
import { stackOwner } from "../mac/home";
import {
  SnapshotOptions,
  deleteSnapshot,
  listSnapshots,
  restoreSnapshot,
  saveSnapshot,
} from "../mac/snapshot";
import { CliIo, EXIT, Invocation, UsageError, labOf, runCommand } from "./cli";

const VERBS = ["save", "restore", "list", "delete"] as const;
type Verb = (typeof VERBS)[number];

/** Tests change only deadlines and the clock. */
export type SnapshotTuning = Pick<SnapshotOptions, "power" | "tartTimeoutMs" | "pulumiTimeoutMs" | "now">;

export async function snapshotCommand(
  inv: Invocation,
  io: CliIo,
  tuning: SnapshotTuning = {},
): Promise<number> {
  const [v, name = ""] = inv.positionals;
  if (!VERBS.includes(v as Verb)) throw new UsageError(`unknown argument ${v}`);
  const verb = v as Verb;
  if (verb !== "list" && name === "") throw new UsageError(`${verb} needs a snapshot name`);
  if (verb === "list" && name !== "") throw new UsageError(`unexpected argument ${name}`);
  const config = labOf(inv);
  const owner = stackOwner(inv.dir, inv.stack);
  const opts: SnapshotOptions = {
    ...tuning,
    env: io.env,
    dir: inv.dir,
    force: inv.values.force === true,
    progress: (line) => io.out(`${line}\n`),
  };
  if (verb === "list") {
    const rows = await listSnapshots(inv.stack, opts);
    io.out(formatSnapshotList(rows, (tuning.now ?? Date.now)()));
    return EXIT.ok;
  }
  const snap = { owner, stack: inv.stack, name };
  const r =
    verb === "save"
      ? await saveSnapshot(config, snap, opts)
      : verb === "restore"
        ? await restoreSnapshot(config, snap, opts)
        : await deleteSnapshot(snap, opts);
  (r.ok ? io.out : io.err)(`tartlab snapshot ${verb}: ${r.message}\n`);
  return r.ok ? EXIT.ok : EXIT.failed;
}

/** The same parsing as the command line, with the tests' deadlines. */
export async function main(argv: string[], io: CliIo, tuning: SnapshotTuning = {}): Promise<number> {
  return (await runCommand("snapshot", argv, io, (_c, inv) => snapshotCommand(inv, io, tuning))) ?? EXIT.ok;
}

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(["snapshot", ...process.argv.slice(2)]));
}
