/**
 * scripts/tart-vm/*.sh outside Pulumi (the drift check, the T09 revive, `npm run stop`), run exactly as the TartVm
 * resource runs them: the stdin bundle of lib/shell.ts. Also the inputs of stop.sh and start.sh with their
 * deadlines, one definition for the resource and for these callers.
 */
import { spawn, spawnSync } from "node:child_process";
import { bundle, loadScript } from "../lib/shell";

/** Deadlines of scripts/tart-vm/stop.sh, in seconds. */
export interface StopDeadlines {
  /** How long the guest may take to power itself off before `tart stop` forces it. */
  readonly gracefulStopSeconds: number;
  /** How long `tart exec` (the poweroff request) may take before the guest agent counts as hung. */
  readonly guestExecSeconds: number;
  /** `tart stop --timeout` of the forced stop (SIGINT, then SIGKILL). */
  readonly stopTimeoutSeconds: number;
}

/** stop.sh's own defaults, which the TartVm resource relies on (it passes only STOP_TIMEOUT_SECONDS). */
export const STOP_DEFAULTS: StopDeadlines = {
  gracefulStopSeconds: 60,
  guestExecSeconds: 15,
  stopTimeoutSeconds: 30,
};

/** Inputs of scripts/tart-vm/stop.sh for `vm`. */
export function stopEnv(vm: string, d: Partial<StopDeadlines> = {}): Record<string, string> {
  return {
    VM_NAME: vm,
    STOP_TIMEOUT_SECONDS: String(d.stopTimeoutSeconds ?? STOP_DEFAULTS.stopTimeoutSeconds),
    GUEST_EXEC_SECONDS: String(d.guestExecSeconds ?? STOP_DEFAULTS.guestExecSeconds),
    GRACEFUL_STOP_SECONDS: String(d.gracefulStopSeconds ?? STOP_DEFAULTS.gracefulStopSeconds),
  };
}

/** Inputs of scripts/tart-vm/start.sh: one definition for the TartVm resource and the T09 revive. */
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
    // start.sh restarts a running VM whose size or run options changed with exactly the stop logic of the delete
    // step (graceful guest poweroff, then tart stop): one copy of it, passed as data (no sourcing).
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
  /** The exit code (null after a signal or when bash could not start). */
  readonly code: number | null;
  readonly stdout: string;
  /** stderr, or why the script could not run. */
  readonly err: string;
}

const bundled = (script: string, inputs: Record<string, string>) =>
  bundle({ create: loadScript(`tart-vm/${script}`) }, inputs);

/** Runs scripts/tart-vm/<script> and waits for it; `env` must already have `withTartPath` (mac/tart.ts). */
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

/** `runVmScript` without blocking, so several VMs' scripts run at once. */
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
