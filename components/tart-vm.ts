import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand } from "../lib/shell";
import { STOP_DEFAULTS, startEnv } from "../mac/vm-scripts";

export interface TartVmArgs {
  /**
   * A change rebuilds the VM, so lib/node-image.ts keeps an existing VM's image unless `baseImage` changes.
   */
  readonly baseImage: string;
  /** The golden image's bake: the clone waits for it, so a new image never reaches an older one's clones. */
  readonly baseImageStep?: pulumi.Resource;
  readonly cpus: number;
  readonly memoryMb: number;
  /** Disk size in GB (10^9 bytes); only ever grown (start.sh refuses a shrink). */
  readonly diskGb: number;
  /** `tart run --net-softnet-allow` value (T03). */
  readonly softnetAllow: string;
  /** Seconds to wait for the VM's DHCP lease (T09). */
  readonly ipWaitSeconds: number;
  /** Identity of the stack that owns the VM ("project/stack"); a VM with another owner is never touched. */
  readonly owner: string;
  /** Where the drift check found the VM; given, it is `ip`, so a changed address is known even in preview. */
  readonly address?: string;
}

/**
 * One Tart VM: `clone`, `start` (resize and run on Softnet, restarting only when size or run options differ)
 * and `address`; downstream reads only `ip` and `vmId`, which a resize or restart leaves unchanged.
 */
export class TartVm extends pulumi.ComponentResource {
  /** The drift check's address when given, else `tart ip`'s; unchanged across resizes and restarts. */
  public readonly ip: pulumi.Output<string>;
  /** New only on a re-clone: put it in `triggers`, since `dependsOn` does not cascade a replacement. */
  public readonly vmId: pulumi.Output<string>;
  /** Depend on it for anything inside the VM. */
  public readonly running: command.local.Command;
  /** Steps that must rerun after start.sh restarts the VM take this as an input. */
  public readonly runSpec: string;

  constructor(name: string, args: TartVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:TartVm", name, {}, opts);

    const clone = new command.local.Command(
      `${name}-clone`,
      {
        ...scriptCommand({
          create: "tart-vm/clone.sh",
          delete: "tart-vm/delete.sh",
          env: {
            VM_NAME: name,
            BASE_IMAGE: args.baseImage,
            OWNER: args.owner,
            STOP_TIMEOUT_SECONDS: String(STOP_DEFAULTS.stopTimeoutSeconds),
          },
        }),
        // The name is reused, so the old VM must go first; steps inside it follow through the clone's id
        // (docs/plans.md).
        triggers: [args.baseImage],
      },
      { parent: this, deleteBeforeReplace: true, dependsOn: args.baseImageStep ? [args.baseImageStep] : [] },
    );
    this.vmId = clone.id;
    this.runSpec = `cpus=${args.cpus} memoryMb=${args.memoryMb} diskGb=${args.diskGb} softnetAllow=${args.softnetAllow}`;

    // A size change is an in-place update, which pulumi-command runs as `create` (there is no `update`
    // command), and start.sh restarts the VM gracefully only if needed.
    const start = new command.local.Command(
      `${name}-start`,
      {
        ...scriptCommand({
          create: "tart-vm/start.sh",
          delete: "tart-vm/stop.sh",
          env: startEnv({ name, ...args }),
        }),
        triggers: [clone.id],
      },
      { parent: this, dependsOn: [clone], deleteBeforeReplace: true },
    );

    // The current address is an input address.sh ignores, so a changed address reruns this step, and `up`
    // twice changes nothing because a new VM reports the address the drift check finds next time.
    const current = args.address;
    this.running = new command.local.Command(
      `${name}-address`,
      {
        ...scriptCommand({
          create: "tart-vm/address.sh",
          env: { VM_NAME: name, FOUND_ADDRESS: current ?? start.stdout },
        }),
        triggers: [clone.id],
      },
      { parent: this, dependsOn: [start] },
    );

    // In `up`, `ip` is what the step read (a re-cloned VM's new address), while a preview shows the found
    // address, known even when the step's stdout is unknown (go-provider markComputed), so the provider is
    // updated, never replaced (docs/plans.md).
    this.ip =
      pulumi.runtime.isDryRun() && current !== undefined ? pulumi.output(current) : this.running.stdout;
    this.registerOutputs({ ip: this.ip, vmId: this.vmId });
  }
}
