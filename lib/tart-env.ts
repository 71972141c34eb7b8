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
    VM_NAME: i.name,
    CPUS: String(i.cpus),
    MEMORY_MB: String(i.memoryMb),
    DISK_GB: String(i.diskGb),
    SOFTNET_ALLOW: i.softnetAllow,
    IP_WAIT_SECONDS: String(i.ipWaitSeconds),
    STOP_TIMEOUT_SECONDS: "30",
  };
}
