import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { SshSettings, sshConnection } from "../lib/connection";
import { versionEnv } from "../lib/kube-version";
import { scriptCommand } from "../lib/shell";

export interface K8sNodeArgs {
  /** The VM's IP (TartVm.ip); every step depends on it, so nothing runs before the VM has an address. */
  readonly ip: pulumi.Input<string>;
  /**
   * The VM's identity (TartVm.vmId, its clone's id). Every step carries it in `triggers`, so a re-cloned VM is
   * prepared again from scratch even when it comes back at the same IP (a `dependsOn` would not cascade).
   */
  readonly vmId: pulumi.Input<string>;
  /**
   * Kubernetes version the node is prepared with: "1.33" (the newest patch of that minor when the node is first
   * prepared; kept on re-runs) or "1.33.4" (exact). For an existing node this is the version it was created with
   * (lib/cluster-record-rules.ts): a version change is the cluster's upgrade steps' job, never node preparation's.
   */
  readonly kubernetesVersion: string;
  readonly ssh: SshSettings;
  /** The VM is a clone of the golden image (components/golden-image.ts): packages and images are there already. */
  readonly prepared?: boolean;
}

/**
 * Turns a running VM into a kubeadm-ready node over SSH: `identity` (hostname, machine-id, DHCP by MAC, one
 * default route) -> `prepare` (swap, modules, sysctls, containerd, held kubelet/kubeadm/kubectl/cri-tools) -> `ready`
 * (tools on PATH, proven before any kubeadm command runs).
 */
export class K8sNode extends pulumi.ComponentResource {
  public readonly ip: pulumi.Output<string>;
  /**
   * Depend on this: it succeeds only once the node passed its readiness check. Its stdout is the installed
   * kubeadm's exact version ("v1.35.2"), which the cluster's kubeadm config uses.
   */
  public readonly ready: command.remote.Command;
  public readonly connection: command.types.input.remote.ConnectionArgs;
  /** The version string the node steps carry (lib/cluster-record-rules.ts `nodeVersion`: kept once the node exists). */
  public readonly kubernetesVersion: string;
  /** The VM's identity (see K8sNodeArgs.vmId), for cluster steps that must re-run on a rebuilt VM. */
  public readonly vmId: pulumi.Output<string>;

  constructor(name: string, args: K8sNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:K8sNode", name, {}, opts);

    const env = {
      NODE_NAME: name,
      ...versionEnv(args.kubernetesVersion),
    };
    this.kubernetesVersion = args.kubernetesVersion;
    this.ip = pulumi.output(args.ip);
    this.connection = sshConnection(this.ip, args.ssh);
    this.vmId = pulumi.output(args.vmId);
    const triggers = [this.vmId];

    const identity = new command.remote.Command(
      `${name}-identity`,
      {
        connection: this.connection,
        ...scriptCommand({ create: "k8s-node/identity.sh", env, sudo: true, vm: name }),
        triggers,
      },
      { parent: this },
    );
    // A golden-image clone skips the package and image work; verify.sh still proves the result.
    const prepare = args.prepared
      ? identity
      : new command.remote.Command(
          `${name}-prepare`,
          {
            connection: this.connection,
            ...scriptCommand({ create: "k8s-node/prepare.sh", env, sudo: true, vm: name }),
            triggers,
          },
          { parent: this, dependsOn: [identity] },
        );
    this.ready = new command.remote.Command(
      `${name}-ready`,
      {
        connection: this.connection,
        ...scriptCommand({ create: "k8s-node/verify.sh", env, sudo: true, vm: name }),
        triggers,
      },
      { parent: this, dependsOn: [prepare] },
    );
    this.registerOutputs({ ip: this.ip });
  }
}
