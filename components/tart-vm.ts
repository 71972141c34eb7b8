import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { scriptCommand } from "../lib/shell";
import { STOP_DEFAULTS, startEnv } from "../mac/vm-scripts";

export interface TartVmArgs {
  /**
   * OCI image or local VM to clone, e.g. ghcr.io/cirruslabs/ubuntu:24.04 or a golden image's name. Changing it
   * rebuilds the VM, so the program keeps an existing VM's image (lib/node-image.ts): only a new `baseImage` of
   * the lab changes it.
   */
  readonly baseImage: string;
  /**
   * The step that makes `baseImage` (a golden image's bake), which the clone waits for. An ordering only: a new
   * golden image must not reach the clones made from an older one.
   */
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
  /**
   * The address the drift check found this running VM at before the graph ran (lib/drift-report.ts `addresses`,
   * proven by its identity marker). When given it is `ip`: a changed DHCP address reaches every step that uses it
   * as a known value, even in preview.
   */
  readonly address?: string;
}

/**
 * One Tart VM: `clone` (clone + random MAC; delete = tart delete), `start` (size, run on Softnet; on an update it
 * restarts the VM gracefully only if its size or run options really differ; delete = graceful stop) and `address`
 * (the VM's IP, read once per clone). Everything downstream reads `ip` (from `address`) and `vmId` (the clone's id),
 * neither of which a resize or restart touches: a resize updates `start` alone.
 */
export class TartVm extends pulumi.ComponentResource {
  /**
   * The VM's IPv4 address on the VM network: the drift check's when given, else the address step's (`tart ip`);
   * known and unchanged across resizes/restarts.
   */
  public readonly ip: pulumi.Output<string>;
  /**
   * The VM's identity: the clone's resource id, new only when the VM is re-cloned. Steps that must run again on a
   * rebuilt VM carry it in `triggers` (a `dependsOn` does not cascade a replacement).
   */
  public readonly vmId: pulumi.Output<string>;
  /** The resource that has the VM running and its address known; depend on it for anything inside the VM. */
  public readonly running: command.local.Command;
  /**
   * The VM's size and `tart run` options, which start.sh restarts a running VM for when they change: a check that
   * must run again after a restart takes it as an input.
   */
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
        // A new base image means a new VM. The name is reused, so the old VM must go first; everything that runs
        // inside it follows through the clone's id in its triggers (docs/plans.md).
        triggers: [args.baseImage],
      },
      { parent: this, deleteBeforeReplace: true, dependsOn: args.baseImageStep ? [args.baseImageStep] : [] },
    );
    this.vmId = clone.id;
    this.runSpec = `cpus=${args.cpus} memoryMb=${args.memoryMb} diskGb=${args.diskGb} softnetAllow=${args.softnetAllow}`;

    // Size and run options are plain inputs: a change is an in-place update, which re-runs start.sh (pulumi-command
    // runs `create` on an update without an `update` command); start.sh restarts the VM gracefully if needed.
    // Replaced only with its clone (triggers); then it must stop the old VM before the clone is deleted.
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

    // The IP comes from a step that a resize does not update, so it stays known in a preview and the cluster's
    // provider and every node step keep their inputs.
    // The VM's current address is an input (address.sh does not read it), so when it changed this step runs again
    // in `up` and its stdout, the address it reads then, follows. Without a found address (the VM is new) it is
    // the address the start step saw, which is what the drift check finds at the next run: `up` twice changes
    // nothing.
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

    // In `up`, `ip` is what the step read: a VM re-cloned in this run (its address step replaced) gets its new
    // address, never the old VM's, and every step that uses `ip` waits for the VM to run. A preview runs nothing:
    // there the found address is shown, known even when this step is updated (whose stdout a preview may report
    // unknown: go-provider markComputed), so an address change is a known update in the plan and the cluster's
    // provider is updated, never replaced (docs/plans.md).
    this.ip =
      pulumi.runtime.isDryRun() && current !== undefined ? pulumi.output(current) : this.running.stdout;
    this.registerOutputs({ ip: this.ip, vmId: this.vmId });
  }
}
