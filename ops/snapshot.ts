/**
 * `npm run snapshot -- save|restore|delete NAME [--stack S] [--dir D] [--force]` and `npm run snapshot -- list`:
 * the lab saved as stopped Tart clones and put back (mac/snapshot.ts). Only VMs whose owner marker names this stack
 * are touched. Exit codes: 0 done, 1 failed (the message says what state the lab is in), 2 bad usage or config.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { LabConfig } from "../lib/lab-config";
import { stackOwner } from "../mac/home";
import {
  SnapshotOptions,
  deleteSnapshot,
  listSnapshots,
  restoreSnapshot,
  saveSnapshot,
} from "../mac/snapshot";
import { formatSnapshotList } from "../lib/snapshot-manifest";
import { loadStackConfig } from "../lib/status";
import { LabIo } from "./lab";

const USAGE =
  "usage: npm run snapshot -- save|restore|delete NAME [--stack <name>] [--dir <project dir>] [--force]\n" +
  "       npm run snapshot -- list [--stack <name>]";

const VERBS = ["save", "restore", "list", "delete"] as const;
type Verb = (typeof VERBS)[number];

/** What tests change: deadlines and the clock (production defaults otherwise). */
export type SnapshotTuning = Pick<SnapshotOptions, "power" | "tartTimeoutMs" | "pulumiTimeoutMs" | "now">;

/** `npm run snapshot`: the exit code. */
export async function main(argv: string[], io: LabIo, tuning: SnapshotTuning = {}): Promise<number> {
  let verb: Verb;
  let name = "";
  let stack: string;
  let dir: string;
  let force: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { stack: { type: "string" }, dir: { type: "string" }, force: { type: "boolean" } },
    });
    const [v, n, ...rest] = positionals;
    if (!VERBS.includes(v as Verb)) throw new Error(`unknown command ${v ?? "(none)"}`);
    verb = v as Verb;
    if (verb !== "list" && n === undefined) throw new Error(`${verb} needs a snapshot NAME`);
    if (rest.length > 0 || (verb === "list" && n !== undefined)) throw new Error("too many arguments");
    name = n ?? "";
    stack = values.stack ?? (io.env.TARTLAB_STACK || "dev");
    dir = values.dir ?? path.join(__dirname, "..");
    force = values.force ?? false;
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let config: LabConfig;
  let owner: string;
  try {
    config = loadStackConfig(dir, stack);
    owner = stackOwner(dir, stack);
  } catch (e) {
    io.err(`tartlab snapshot ${verb}: stack ${stack}: ${(e as Error).message}\n`);
    return 2;
  }
  const opts: SnapshotOptions = {
    ...tuning,
    env: io.env,
    dir,
    force,
    progress: (line) => io.out(`${line}\n`),
  };
  if (verb === "list") {
    const rows = await listSnapshots(stack, opts);
    io.out(formatSnapshotList(rows, (tuning.now ?? Date.now)()));
    return 0;
  }
  const r =
    verb === "save"
      ? await saveSnapshot(config, owner, stack, name, opts)
      : verb === "restore"
        ? await restoreSnapshot(config, owner, stack, name, opts)
        : await deleteSnapshot(owner, stack, name, opts);
  (r.ok ? io.out : io.err)(`tartlab snapshot ${verb}: ${r.message}\n`);
  return r.ok ? 0 : 1;
}

if (require.main === module) {
  const exit = (code: number) => process.stdout.write("", () => process.exit(code));
  const io: LabIo = {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  main(process.argv.slice(2), io).then(exit, (e: Error) => {
    process.stderr.write(`tartlab: ${e.message}\n`, () => exit(1));
  });
}
