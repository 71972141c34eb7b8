/**
 * `tartlab <command>`, the one entry of the day-2 commands and the only place arguments are parsed. Exit
 * codes: 0 done (status: healthy), 1 the lab or an action failed, 2 bad usage, an unknown stack or a refused
 * config; `tartlab ssh` exits with ssh's own code.
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import { LabConfigError } from "../lib/lab-config";
import { loadStackFile } from "../lib/stack-config";
import { selectedStack } from "./stack";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Tests run the CLI in-process. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
}

type OptionSpec = { type: "string" | "boolean"; short?: string };
type Values = Record<string, string | boolean | undefined>;

export interface Invocation {
  readonly values: Values;
  readonly positionals: readonly string[];
  readonly dir: string;
  readonly stack: string;
}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positionals: readonly [min: number, max: number];
  /** The Mac-wide images, and the kubeconfig merge a Pulumi step runs. */
  readonly stackless?: (positionals: readonly string[]) => boolean;
  /**
   * A command's module loads only when it runs (the Pulumi SDK alone takes a second); undefined keeps
   * serving.
   */
  run(inv: Invocation, io: CliIo): Promise<number | undefined>;
}

const STACK_OPTIONS = {
  stack: { type: "string" },
  dir: { type: "string" },
} as const satisfies Record<string, OptionSpec>;

const STACK_HELP =
  "  --stack <name>   the Pulumi stack (default: $TARTLAB_STACK, else the one `pulumi stack select` chose)\n" +
  "  --dir <dir>      the tartlab project directory (default: this checkout)\n";

export function seconds(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const s = Number(v);
  if (v.trim() === "" || !Number.isFinite(s) || s < min) {
    throw new UsageError(`--${flag} ${v} is not a number of seconds ${min === 0 ? ">= 0" : "> 0"}`);
  }
  return s;
}

export class UsageError extends Error {}

const COMMANDS: Readonly<Record<string, Command>> = {
  status: {
    summary: "the whole lab's live health: VMs, clusters, Jenkins",
    usage: "[--json] [--timeout <seconds>] [--stack <name>]",
    help:
      "  --json           the status model as JSON (exit 1 still means unhealthy)\n" +
      "  --timeout <s>    deadline of each probe (default 5)\n",
    options: { json: { type: "boolean" }, timeout: { type: "string" } },
    positionals: [0, 0],
    run: async (inv, io) => (await import("./status")).statusCommand(inv, io),
  },
  start: {
    summary: "start this stack's stopped VMs and wait for the lab to be Ready",
    usage: "[--timeout <seconds>] [--stack <name>]",
    help: "  --timeout <s>    how long to wait for Ready (default 300; 0: look once)\n",
    options: { timeout: { type: "string" } },
    positionals: [0, 0],
    run: async (inv, io) => (await import("./lab")).labCommand("start", inv, io),
  },
  stop: {
    summary: "power off this stack's VMs (gracefully, forced after --timeout)",
    usage: "[--timeout <seconds>] [--stack <name>]",
    help: "  --timeout <s>    how long each guest may take to power off (default 60)\n",
    options: { timeout: { type: "string" } },
    positionals: [0, 0],
    run: async (inv, io) => (await import("./lab")).labCommand("stop", inv, io),
  },
  kubeconfig: {
    summary: "the stack's kubectl contexts; merge or remove one in your kubeconfig",
    usage: "[merge <cluster> [--set-current] < kubeconfig | remove <cluster>] [--stack <name>]",
    help:
      "  (no arguments)   each cluster's context name, API server and kubeconfig file\n" +
      "  merge <cluster>  merge the kubeconfig on stdin as context tartlab-<cluster>\n" +
      "  remove <cluster> remove context tartlab-<cluster>\n" +
      "  --set-current    with merge: make it kubectl's current context\n",
    options: { "set-current": { type: "boolean" } },
    positionals: [0, 2],
    stackless: ([verb]) => verb !== undefined,
    run: async (inv, io) => (await import("./kubeconfig")).kubeconfigCommand(inv, io),
  },
  dashboard: {
    summary: "the lab on one local web page",
    usage:
      "[--port <n>] [--host <address>] [--allow-remote] [--timeout <s>] [--interval <s>] [--stack <name>]",
    help:
      "  --port <n>       port (default 8765; 0: any free port)\n" +
      "  --host <address> bind address (default 127.0.0.1)\n" +
      "  --allow-remote   allow a non-loopback --host (the page has no login)\n" +
      "  --timeout <s>    deadline of each probe (default 5)\n" +
      "  --interval <s>   refresh interval (default 5)\n",
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "allow-remote": { type: "boolean" },
      timeout: { type: "string" },
      interval: { type: "string" },
    },
    positionals: [0, 0],
    run: async (inv, io) => (await import("./dashboard")).dashboardCommand(inv, io),
  },
  images: {
    summary: "the golden node images on this Mac (shared by every stack); prune the unused ones",
    usage: "[prune]",
    help: "  prune            delete the golden images no VM was cloned from\n",
    options: {},
    positionals: [0, 1],
    stackless: () => true,
    run: async (inv, io) => (await import("./images")).imagesCommand(inv, io),
  },
  snapshot: {
    summary: "save the whole lab as stopped clones, restore it, list or delete snapshots",
    usage: "save|restore|delete <name> [--force] | list [--stack <name>]",
    help:
      "  save <name>      stop the lab, clone every VM, start it again\n" +
      "  restore <name>   put the lab back as saved (refused when the config differs, unless --force)\n" +
      "  list             this stack's snapshots with size and age\n" +
      "  delete <name>    delete one snapshot's VMs\n" +
      "  --force          save: replace a snapshot of that name; restore: despite a config difference\n",
    options: { force: { type: "boolean" } },
    positionals: [1, 2],
    run: async (inv, io) => (await import("./snapshot")).snapshotCommand(inv, io),
  },
  ssh: {
    summary: "a shell (or a command) on one of the stack's VMs, as the lab's login user",
    usage: "<vm> [--identity <key file>] [--port <n>] [-- <command>…]",
    help:
      "  --identity <f>   private key file (default: $TARTLAB_SSH_KEY, else ssh's own defaults; the stock image's\n" +
      "                   password is admin)\n" +
      "  --port <n>       SSH port (default 22)\n",
    options: { identity: { type: "string" }, port: { type: "string" } },
    positionals: [1, Infinity],
    run: async (inv, io) => (await import("./ssh")).sshCommand(inv, io),
  },
};

function usageOf(name: string, c: Command): string {
  return `usage: tartlab ${name} ${c.usage}\n`;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return (
    "usage: tartlab <command> [options]   (tartlab <command> --help for its options)\n\n" +
    Object.entries(COMMANDS)
      .map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}\n`)
      .join("") +
    "\nEvery command acts on one Pulumi stack: --stack <name>, else $TARTLAB_STACK, else the selected one.\n" +
    "Exit codes: 0 done or healthy, 1 the lab or an action failed, 2 bad usage, unknown stack or refused config.\n"
  );
}

function parse(c: Command, argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: { ...STACK_OPTIONS, help: { type: "boolean", short: "h" }, ...c.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    const option = /'(-[^']*)'/.exec(err.message)?.[1];
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option)
      throw new UsageError(`unknown argument ${option}`);
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
      throw new UsageError(`${option.replace(/ <value>$/, "")} needs a value`);
    }
    throw new UsageError(err.message);
  }
}

/** Undefined while a command keeps serving. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.err : io.out)(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  return runCommand(name, rest, io, (c, inv) => c.run(inv, io));
}

/** Tests of one command pass their own `run` to inject deadlines and clocks. */
export async function runCommand(
  name: string,
  rest: readonly string[],
  io: CliIo,
  run: (c: Command, inv: Invocation) => Promise<number | undefined>,
): Promise<number | undefined> {
  const c = COMMANDS[name];
  if (c === undefined) {
    io.err(`tartlab: unknown command ${name}\n${mainHelp()}`);
    return EXIT.usage;
  }
  let inv: Invocation;
  try {
    const { values, positionals } = parse(c, rest);
    if (values.help) {
      io.out(`${usageOf(name, c)}\n${c.summary}\n\n${c.help}${STACK_HELP}  -h, --help       this help\n`);
      return EXIT.ok;
    }
    const [min, max] = c.positionals;
    if (positionals.length < min || positionals.length > max) {
      throw new UsageError(
        positionals.length > max ? `unexpected argument ${positionals[max]}` : "missing argument",
      );
    }
    const dir = typeof values.dir === "string" ? path.resolve(values.dir) : path.join(__dirname, "..");
    let stack = "";
    if (!c.stackless?.(positionals)) {
      const selected = selectedStack(dir, io.env, values.stack as string | undefined);
      if ("problem" in selected) {
        io.err(`tartlab ${name}: ${selected.problem}\n`);
        return EXIT.usage;
      }
      stack = selected.stack;
    }
    inv = { values, positionals, dir, stack };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`${e.message}\n${usageOf(name, c)}`);
    return EXIT.usage;
  }
  try {
    return await run(c, inv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${e.message}\n${usageOf(name, c)}`);
      return EXIT.usage;
    }
    if (e instanceof LabConfigError || (e instanceof Error && e.message.startsWith("no stack file"))) {
      io.err(`tartlab ${name}: stack ${inv.stack}: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

export const labOf = (inv: Invocation) => loadStackFile(inv.dir, inv.stack).config;

/** A pipe is asynchronous on macOS, so stdout is flushed before the exit. */
export function runAsMain(argv: readonly string[]): void {
  const io: CliIo = {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  const exit = (code: number) => process.stdout.write("", () => process.exit(code));
  runCli(argv, io).then(
    (code) => {
      if (code !== undefined) exit(code);
    },
    (e: Error) => {
      process.stderr.write(`tartlab: ${e.message}\n`, () => exit(EXIT.failed));
    },
  );
}

if (require.main === module) runAsMain(process.argv.slice(2));
