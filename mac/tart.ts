/**
 * The one Tart driver on the Node side: runs `tart` on the scripts' PATH and parses its JSON (T08: JSON, never the
 * text table, whose "Accessed" column has spaces). Parsers refuse JSON of another shape with a one-line reason
 * instead of letting a TypeError reach `pulumi up`.
 */
import { SpawnSyncReturns, execFile, spawnSync } from "node:child_process";
import { isIpv4 } from "../lib/ip";

/**
 * Where Homebrew puts tart and softnet (Apple Silicon, then Intel prefix). Pulumi may run with a PATH that lacks
 * them (launched from an IDE, or a shell without `brew shellenv`): the scripts add these (`export PATH=…`), and so
 * does every Node-side call of tart.
 */
export const HOMEBREW_BIN_DIRS = ["/opt/homebrew/bin", "/usr/local/bin"] as const;

/** `env` with PATH extended exactly as the scripts extend it. */
export function withTartPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: [env.PATH ?? "", ...HOMEBREW_BIN_DIRS].filter((p) => p !== "").join(":") };
}

/** One entry of `tart list --format json` (fields tartlab reads; Tart prints more). */
export interface TartVm {
  readonly Name: string;
  readonly State: string;
  /** Disk size in GB. */
  readonly Size?: number;
  /** "local" or "oci". */
  readonly Source?: string;
}

/** `tart get --format json`: CPU count, Memory in MB, Disk in GB; unchecked values, as Tart printed them. */
export interface TartVmInfo {
  readonly CPU?: unknown;
  readonly Memory?: unknown;
  readonly Disk?: unknown;
}

const LIST = ["list", "--source", "local", "--format", "json"];

/** The VMs in `tart list --format json` output, or an Error naming what was printed instead. */
function parseTartList(stdout: string): TartVm[] {
  let entries: unknown;
  try {
    entries = JSON.parse(stdout);
  } catch {
    throw new Error(`tart list printed no JSON: ${stdout.slice(0, 200)}`);
  }
  // JSON of another shape (an object, null entries) must not crash the program with a TypeError.
  if (!Array.isArray(entries) || !entries.every((v) => v !== null && typeof v === "object")) {
    throw new Error(`tart list printed JSON that is not a list of VMs: ${stdout.slice(0, 200)}`);
  }
  return entries as TartVm[];
}

/** The object `tart get --format json` printed, or undefined when it printed anything else. */
function parseTartGet(stdout: string): TartVmInfo | undefined {
  try {
    const got: unknown = JSON.parse(stdout);
    if (got && typeof got === "object" && !Array.isArray(got)) return got as TartVmInfo;
  } catch {
    // not JSON
  }
  return undefined;
}

/** The address `tart ip` printed, or undefined when it printed anything but one IPv4 address. */
function parseTartIp(stdout: string): string | undefined {
  const ip = stdout.trim();
  return isIpv4(ip) ? ip : undefined;
}

/** Runs tart and waits for it (for callers that are synchronous); `env` must already have `withTartPath`. */
function tartSync(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync("tart", args, { env, encoding: "utf8", timeout: timeoutMs });
}

/** What `tart list` says, or why it could not be read. */
export type TartVmList = { readonly vms: TartVm[] } | { readonly problem: string };

/** Reads Tart's VM list synchronously; `env` must already have the scripts' PATH (`withTartPath`). */
export function listTartVms(env: NodeJS.ProcessEnv): TartVmList {
  const list = tartSync(LIST, env);
  if (list.error) {
    const code = (list.error as NodeJS.ErrnoException).code;
    return {
      problem:
        code === "ENOENT"
          ? `tart is not on PATH (${env.PATH}, which includes ${HOMEBREW_BIN_DIRS.join(" and ")}); ` +
            "install it: brew install cirruslabs/cli/tart"
          : `tart list failed to run: ${list.error.message}`,
    };
  }
  if (list.status !== 0) {
    return {
      problem: `tart list exited with ${list.status ?? `signal ${list.signal}`}: ${(list.stderr ?? "").trim()}`,
    };
  }
  try {
    return { vms: parseTartList(list.stdout) };
  } catch (e) {
    return { problem: (e as Error).message };
  }
}

/** Runs tart with a deadline; rejects with a one-line reason (stderr's first line, or the deadline). */
function tart(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("tart", args, { env, timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === "ENOENT") {
        return reject(new Error("tart not found on PATH; install it: brew install cirruslabs/cli/tart"));
      }
      if (e.killed) return reject(new Error(`\`tart ${args.join(" ")}\` gave no answer in ${timeoutMs} ms`));
      const line = String(stderr).trim().split("\n")[0];
      reject(new Error(line || `\`tart ${args.join(" ")}\` failed`));
    });
  });
}

/** `tart get <vm> --format json` for synchronous callers: the object it printed (if it did) and the run. */
export function tartGetSync(
  vm: string,
  env: NodeJS.ProcessEnv,
): { readonly info?: TartVmInfo; readonly run: SpawnSyncReturns<string> } {
  const run = tartSync(["get", vm, "--format", "json"], env);
  return { info: parseTartGet(run.stdout ?? ""), run };
}

/** `tart get <vm> --format json`: the object it printed, else undefined, and what it printed; rejects as `tart`. */
export async function tartGet(
  vm: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ readonly info?: TartVmInfo; readonly printed: string }> {
  const printed = await tart(["get", vm, "--format", "json"], env, timeoutMs);
  return { info: parseTartGet(printed), printed };
}

/** `tart ip <vm>` without waiting for one: the IPv4 address it printed, else undefined; rejects as `tart`. */
export async function tartIp(
  vm: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ readonly ip?: string; readonly printed: string }> {
  const printed = await tart(["ip", vm], env, timeoutMs);
  return { ip: parseTartIp(printed), printed };
}

/** Tart's VM list; rejects with a one-line reason. */
export async function tartList(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<TartVm[]> {
  return parseTartList(await tart(LIST, env, timeoutMs));
}
