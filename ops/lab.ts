/**
 * `npm run stop` / `npm run start` [-- --stack <name>] [--dir <project dir>] [--timeout <seconds>].
 * stop: graceful poweroff of every VM of this stack (scripts/tart-vm/stop.sh; forced after --timeout, default 60 s).
 * start: the VMs again with `pulumi up`'s revive, then waits up to --timeout (default 300 s) for the lab to be
 * Ready (lib/status.ts) and prints its status; --timeout 0 asks once and does not wait. Only VMs whose owner marker
 * names this stack are touched (lib/lab-power.ts). Exit codes: 0 done (start: lab Ready), 1 a VM failed or the lab
 * is not Ready, 2 bad usage or config.
 */
import * as path from "node:path";
import { LabConfig } from "../lib/lab-config";
import { formatPower, startLab, stopLab } from "../lib/lab-power";
import { stackOwner } from "../mac/home";
import { formatStatus, loadStackConfig } from "../lib/status";

const USAGE = "usage: npm run stop|start -- [--stack <name>] [--dir <project dir>] [--timeout <seconds>]";

interface Args {
  verb: "stop" | "start";
  stack: string;
  dir: string;
  timeoutSeconds?: number;
}

/** Where the command reads its environment and writes its output (tests run it in-process). */
export interface LabIo {
  readonly env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args | string {
  const [verb, ...rest] = argv;
  if (verb !== "stop" && verb !== "start") return `unknown command ${verb ?? "(none)"}`;
  const args: Args = { verb, stack: env.TARTLAB_STACK || "dev", dir: path.join(__dirname, "..") };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const v = rest[i + 1];
    if (a !== "--stack" && a !== "--dir" && a !== "--timeout") return `unknown argument ${a}`;
    if (v === undefined || v.startsWith("--")) return `${a} needs a value`;
    i++;
    if (a === "--stack") args.stack = v;
    else if (a === "--dir") args.dir = v;
    else {
      const s = Number(v);
      if (!Number.isInteger(s) || s < 0) return `--timeout must be a whole number of seconds >= 0, got ${v}`;
      args.timeoutSeconds = s;
    }
  }
  return args;
}

/** `npm run stop|start`: the exit code. */
export async function main(argv: string[], io: LabIo): Promise<number> {
  const args = parseArgs(argv, io.env);
  if (typeof args === "string") {
    io.err(`${args}\n${USAGE}\n`);
    return 2;
  }
  let config: LabConfig;
  let owner: string;
  try {
    config = loadStackConfig(args.dir, args.stack);
    owner = stackOwner(args.dir, args.stack);
  } catch (e) {
    io.err(`tartlab ${args.verb}: stack ${args.stack}: ${(e as Error).message}\n`);
    return 2;
  }
  if (args.verb === "stop") {
    const r = await stopLab(config, owner, { env: io.env, gracefulStopSeconds: args.timeoutSeconds });
    io.out(formatPower(r.vms));
    return r.ok ? 0 : 1;
  }
  const r = await startLab(config, owner, { env: io.env, readySeconds: args.timeoutSeconds });
  io.out(formatPower(r.vms));
  if (r.status) io.out(`\n${formatStatus(r.status)}`);
  io.out(
    r.ok
      ? `\ntartlab: stack ${args.stack} is Ready (after ${r.readyAfterSeconds}s)\n`
      : `\ntartlab: stack ${args.stack} is not Ready; see above (npm run status -- --stack ${args.stack})\n`,
  );
  return r.ok ? 0 : 1;
}

if (require.main === module) {
  // Exit once stdout is flushed (a pipe is asynchronous on macOS), without waiting for idle HTTP keep-alive sockets.
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
