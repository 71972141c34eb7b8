/**
 * `npm run status [-- --stack <name>] [--json]`: the whole lab's live health in one table (issue 12). Reads the
 * lab from Pulumi.<stack>.yaml through the same validation as `pulumi up` (lib/lab-config.ts), then probes it
 * (lib/status.ts). Exit codes: 0 healthy, 1 something unhealthy, 2 bad usage or config.
 */
import * as path from "node:path";
import { LabConfig } from "../lib/lab-config";
import { collectStatus, formatStatus } from "../lib/status";
import { loadStackFile } from "../lib/stack-config";

const USAGE =
  "usage: npm run status -- [--stack <name>] [--dir <project dir>] [--json] [--timeout <seconds>]";

interface Args {
  stack: string;
  dir: string;
  json: boolean;
  timeoutMs?: number;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = {
    stack: process.env.TARTLAB_STACK || "dev",
    dir: path.join(__dirname, ".."),
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--json") args.json = true;
      else if (a === "--stack") args.stack = value();
      else if (a === "--dir") args.dir = value();
      else if (a === "--timeout") {
        const s = Number(value());
        if (!Number.isFinite(s) || s <= 0) return `--timeout must be a number of seconds > 0`;
        args.timeoutMs = s * 1000;
      } else return `unknown argument ${a}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return args;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`${args}\n${USAGE}\n`);
    return 2;
  }
  let config: LabConfig;
  try {
    config = loadStackFile(args.dir, args.stack).config;
  } catch (e) {
    process.stderr.write(`tartlab status: stack ${args.stack}: ${(e as Error).message}\n`);
    return 2;
  }
  const status = await collectStatus(config, { probeTimeoutMs: args.timeoutMs });
  const text = args.json
    ? `${JSON.stringify({ stack: args.stack, ...status }, null, 2)}\n`
    : formatStatus(status);
  // All of it written before the exit: process.exit drops what a pipe has not taken yet (Node's writes to pipes are
  // asynchronous on POSIX), and a broken lab's JSON is the one a caller needs whole.
  await new Promise<void>((resolve, reject) =>
    process.stdout.write(text, (e) => (e ? reject(e) : resolve())),
  );
  return status.healthy ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`tartlab status: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);
