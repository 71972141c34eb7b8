/**
 * The drift check, the T09 revive and `npm run stop` run scripts/tart-vm/*.sh exactly as TartVm does
 * (lib/shell.ts's bundle), with one definition of the stop and start inputs.
 */
import { spawn, spawnSync } from "node:child_process";
import { bundle, loadScript } from "../lib/shell";

export interface StopDeadlines {
  readonly gracefulStopSeconds: number;
  /** After this the guest agent counts as hung. */
  readonly guestExecSeconds: number;
  readonly stopTimeoutSeconds: number;
}

/** TartVm passes only STOP_TIMEOUT_SECONDS and relies on these. */
export const STOP_DEFAULTS: StopDeadlines = {
  gracefulStopSeconds: 60,
  guestExecSeconds: 15,
  stopTimeoutSeconds: 30,
};

export function stopEnv(vm: string, d: Partial<StopDeadlines> = {}): Record<string, string> {
  return {
    VM_NAME: vm,
    STOP_TIMEOUT_SECONDS: String(d.stopTimeoutSeconds ?? STOP_DEFAULTS.stopTimeoutSeconds),
    GUEST_EXEC_SECONDS: String(d.guestExecSeconds ?? STOP_DEFAULTS.guestExecSeconds),
    GRACEFUL_STOP_SECONDS: String(d.gracefulStopSeconds ?? STOP_DEFAULTS.gracefulStopSeconds),
  };
}

export interface StartInputs {
  readonly name: string;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly softnetAllow: string;
  readonly ipWaitSeconds: number;
}

export function startEnv(i: StartInputs): Record<string, string> {
  return {
    // start.sh restarts a resized VM with the delete step's own stop logic, passed as data, not sourced.
    STOP_SCRIPT: loadScript("tart-vm/stop.sh"),
    VM_NAME: i.name,
    CPUS: String(i.cpus),
    MEMORY_MB: String(i.memoryMb),
    DISK_GB: String(i.diskGb),
    SOFTNET_ALLOW: i.softnetAllow,
    IP_WAIT_SECONDS: String(i.ipWaitSeconds),
    STOP_TIMEOUT_SECONDS: String(STOP_DEFAULTS.stopTimeoutSeconds),
  };
}

export interface ScriptRun {
  readonly ok: boolean;
  /** Null after a signal or when bash could not start. */
  readonly code: number | null;
  readonly stdout: string;
  readonly err: string;
}

const bundled = (script: string, inputs: Record<string, string>) =>
  bundle({ create: loadScript(`tart-vm/${script}`) }, inputs);

/** `env` must already have `withTartPath` (mac/tart.ts). */
export function runVmScript(
  script: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv,
): ScriptRun {
  const r = spawnSync("bash", ["-s", "--", "create"], {
    env,
    encoding: "utf8",
    input: bundled(script, inputs),
  });
  return {
    ok: r.status === 0,
    code: r.status,
    stdout: (r.stdout ?? "").trim(),
    err: r.error ? r.error.message : (r.stderr ?? "").trim(),
  };
}

export function runVmScriptAsync(
  script: string,
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Promise<ScriptRun> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-s", "--", "create"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (e) => resolve({ ok: false, code: null, stdout: "", err: e.message }));
    child.on("close", (code) => resolve({ ok: code === 0, code, stdout: stdout.trim(), err: stderr.trim() }));
    child.stdin.end(bundled(script, inputs));
  });
}
