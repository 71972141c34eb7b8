/**
 * `npm run dashboard [-- --stack <name>] [--port <n>]`: the lab on one local web page, built on the
 * status model of `npm run status` (lib/status.ts) and served by lib/dashboard.ts. Listens on 127.0.0.1 only
 * unless --allow-remote is given (the page has no login). Exit codes: 2 bad usage or config, 1 cannot listen.
 */
import * as path from "node:path";
import { AddressInfo } from "node:net";
import { checkBindAddress, createDashboard } from "../lib/dashboard";
import { isLoopback } from "../lib/ip";
import { LabConfig } from "../lib/lab-config";
import { collectStatus, loadStackConfig } from "../lib/status";

const USAGE =
  "usage: npm run dashboard -- [--stack <name>] [--dir <project dir>] [--port <n, 0 = any free port>]\n" +
  "       [--host <address>] [--allow-remote] [--timeout <probe seconds>] [--interval <refresh seconds>]";

interface Args {
  stack: string;
  dir: string;
  host: string;
  port: number;
  allowRemote: boolean;
  timeoutMs?: number;
  refreshMs: number;
}

function seconds(flag: string, v: string): number {
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0) throw new Error(`${flag} ${v} is not a number of seconds > 0`);
  return s * 1000;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = {
    stack: process.env.TARTLAB_STACK || "dev",
    dir: path.join(__dirname, ".."),
    host: "127.0.0.1",
    port: 8765,
    allowRemote: false,
    refreshMs: 5_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === "--allow-remote") args.allowRemote = true;
      else if (a === "--stack") args.stack = value();
      else if (a === "--dir") args.dir = value();
      else if (a === "--host") args.host = value();
      else if (a === "--port") {
        const v = value();
        const p = Number(v);
        if (!/^\d+$/.test(v) || p > 65535)
          return `--port ${v} is not a port number (0-65535; 0 = any free port)`;
        args.port = p;
      } else if (a === "--timeout") args.timeoutMs = seconds(a, value());
      else if (a === "--interval") args.refreshMs = seconds(a, value());
      else return `unknown argument ${a}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  return args;
}

async function main(argv: string[]): Promise<number | undefined> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`${args}\n${USAGE}\n`);
    return 2;
  }
  const refused = checkBindAddress(args.host, args.allowRemote);
  if (refused) {
    process.stderr.write(`tartlab dashboard: ${refused}\n`);
    return 2;
  }
  let config: LabConfig;
  try {
    config = loadStackConfig(args.dir, args.stack);
  } catch (e) {
    process.stderr.write(`tartlab dashboard: stack ${args.stack}: ${(e as Error).message}\n`);
    return 2;
  }
  const dashboard = createDashboard({
    collect: async () => ({
      stack: args.stack,
      ...(await collectStatus(config, { probeTimeoutMs: args.timeoutMs })),
    }),
    refreshMs: args.refreshMs,
    allowRemote: args.allowRemote,
  });
  const { server } = dashboard;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(args.port, args.host, () => resolve());
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === "EADDRINUSE" ? "; pick another with --port <n> (0 = any free port)" : "";
    process.stderr.write(
      `tartlab dashboard: cannot listen on ${args.host}:${args.port}: ${err.code}${hint}\n`,
    );
    return 1;
  }
  const { address, port } = server.address() as AddressInfo;
  const shown = address.includes(":") ? `[${address}]` : address;
  if (!isLoopback(args.host)) {
    process.stderr.write(`tartlab dashboard: --allow-remote: listening on ${args.host}, without a login\n`);
  }
  process.stdout.write(`tartlab dashboard (stack ${args.stack}): http://${shown}:${port}/\n`);
  const stop = () => {
    dashboard.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (e: Error) => {
    process.stderr.write(`tartlab dashboard: ${e.stack ?? e.message}\n`);
    process.exit(2);
  },
);
