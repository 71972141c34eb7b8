import { loadScript } from "./shell";

/**
 * Where Homebrew puts tart and softnet (Apple Silicon, then Intel prefix). Pulumi may run with a PATH that lacks
 * them (launched from an IDE, or a shell without `brew shellenv`): the scripts add these (`export PATH=…`), and so
 * does every Node-side call of tart (lib/revive.ts).
 */
export const HOMEBREW_BIN_DIRS = ["/opt/homebrew/bin", "/usr/local/bin"] as const;

/** `env` with PATH extended exactly as the scripts extend it. */
export function withTartPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: [env.PATH ?? "", ...HOMEBREW_BIN_DIRS].filter((p) => p !== "").join(":") };
}

/** Inputs of scripts/tart-vm/start.sh: one definition for the TartVm resource and the T09 revive (lib/revive.ts). */
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
    STOP_TIMEOUT_SECONDS: "30",
  };
}
