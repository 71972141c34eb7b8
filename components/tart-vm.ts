import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand } from "../lib/shell";
import { startEnv } from "../lib/tart-env";

export interface TartVmArgs {
  /**
   * OCI image or local VM to clone, e.g. ghcr.io/cirruslabs/ubuntu:24.04 or the golden image's name (an Output, so
   * a new golden image rebuilds the VM). Changing it rebuilds the VM.
   */
  readonly baseImage: pulumi.Input<string>;
  readonly cpus: number;
  readonly memoryMb: number;
  /** Disk size in GB (10^9 bytes); only ever grown. */
  readonly diskGb: number;
  /** `tart run --net-softnet-allow` value (T03). */
  readonly softnetAllow: string;
  /** Seconds to wait for the VM's DHCP lease (T09). */
  readonly ipWaitSeconds: number;
  /** Identity of the stack that owns the VM ("project/stack"); a VM with another owner is never touched. */
  readonly owner: string;
}

/**
 * One Tart VM: `clone` (clone + random MAC; delete = tart delete) then `start` (size + run on Softnet + wait for
 * the IP; delete = tart stop). Separate steps, so a stopped VM can be started again without re-cloning.
 */
export class TartVm extends pulumi.ComponentResource {
  /** The VM's IPv4 address on the VM network (from `tart ip`). */
  public readonly ip: pulumi.Output<string>;
  /** The resource that has the VM running; depend on it (or on `ip`) for anything inside the VM. */
  public readonly running: command.local.Command;

  constructor(name: string, args: TartVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:TartVm", name, {}, opts);

    const clone = new command.local.Command(
      `${name}-clone`,
      {
        ...scriptCommand({
          create: "tart-vm/clone.sh",
          delete: "tart-vm/delete.sh",
          env: { VM_NAME: name, BASE_IMAGE: args.baseImage, OWNER: args.owner, STOP_TIMEOUT_SECONDS: "30" },
        }),
        // A new base image means a new VM. The name is reused, so the old VM must go first.
        triggers: [args.baseImage],
      },
      { parent: this, deleteBeforeReplace: true },
    );

    const env = startEnv({ name, ...args });
    const sizing = [env.CPUS, env.MEMORY_MB, env.DISK_GB];
    this.running = new command.local.Command(
      `${name}-start`,
      {
        ...scriptCommand({ create: "tart-vm/start.sh", delete: "tart-vm/stop.sh", env }),
        // Sizing applies only to a stopped VM: a change stops the VM (delete) and starts it again (create).
        triggers: sizing,
      },
      { parent: this, dependsOn: [clone], deleteBeforeReplace: true },
    );

    this.ip = this.running.stdout;
    this.registerOutputs({ ip: this.ip });
  }
}
