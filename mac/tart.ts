/**
 * The one Node-side Tart driver, reading JSON (T08: the text table's "Accessed" column has spaces); a JSON of
 * another shape gets a one-line reason, never a TypeError in `pulumi up`.
 */
import { SpawnSyncReturns, execFile, spawnSync } from "node:child_process";
import { isIpv4 } from "../lib/ip";

/**
 * Pulumi may run without these on PATH (from an IDE, or without `brew shellenv`), so the scripts and every
 * Node-side tart call add them.
 */
export const HOMEBREW_BIN_DIRS = ["/opt/homebrew/bin", "/usr/local/bin"] as const;

export function withTartPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: [env.PATH ?? "", ...HOMEBREW_BIN_DIRS].filter((p) => p !== "").join(":") };
}

/** One entry of `tart list --format json` (the fields tartlab reads). */
export interface TartVm {
  readonly Name: string;
  readonly State: string;
  /** GB. */
  readonly Size?: number;
  readonly Source?: string;
}

/** `tart get --format json`: CPU count, Memory in MB, Disk in GB, unchecked. */
export interface TartVmInfo {
  readonly CPU?: unknown;
  readonly Memory?: unknown;
  readonly Disk?: unknown;
}

const LIST = ["list", "--source", "local", "--format", "json"];

function parseTartList(stdout: string): TartVm[] {
  let entries: unknown;
  try {
    entries = JSON.parse(stdout);
  } catch {
    throw new Error(`tart list printed no JSON: ${stdout.slice(0, 200)}`);
  }
  if (!Array.isArray(entries) || !entries.every((v) => v !== null && typeof v === "object")) {
    throw new Error(`tart list printed JSON that is not a list of VMs: ${stdout.slice(0, 200)}`);
  }
  return entries as TartVm[];
}

function parseTartGet(stdout: string): TartVmInfo | undefined {
  try {
    const got: unknown = JSON.parse(stdout);
    if (got && typeof got === "object" && !Array.isArray(got)) return got as TartVmInfo;
  } catch {
    // not JSON
  }
  return undefined;
}

function parseTartIp(stdout: string): string | undefined {
  const ip = stdout.trim();
  return isIpv4(ip) ? ip : undefined;
}

function tartSync(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync("tart", args, { env, encoding: "utf8", timeout: timeoutMs });
}

export type TartVmList = { readonly vms: TartVm[] } | { readonly problem: string };

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

export function tartGetSync(
  vm: string,
  env: NodeJS.ProcessEnv,
): { readonly info?: TartVmInfo; readonly run: SpawnSyncReturns<string> } {
  const run = tartSync(["get", vm, "--format", "json"], env);
  return { info: parseTartGet(run.stdout ?? ""), run };
}

export async function tartGet(
  vm: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ readonly info?: TartVmInfo; readonly printed: string }> {
  const printed = await tart(["get", vm, "--format", "json"], env, timeoutMs);
  return { info: parseTartGet(printed), printed };
}

export async function tartIp(
  vm: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ readonly ip?: string; readonly printed: string }> {
  const printed = await tart(["ip", vm], env, timeoutMs);
  return { ip: parseTartIp(printed), printed };
}

export async function tartList(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<TartVm[]> {
  return parseTartList(await tart(LIST, env, timeoutMs));
}
