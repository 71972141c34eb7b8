import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { SshSettings, sshConnection } from "../lib/connection";
import { versionEnv } from "../lib/kube-version";
import { scriptCommand } from "../lib/shell";

export interface K8sNodeArgs {
  /** Every step depends on it, so nothing runs before the VM has an address. */
  readonly ip: pulumi.Input<string>;
  /** Steps carry it in `triggers`, so a re-cloned VM is prepared again even at the same IP. */
  readonly vmId: pulumi.Input<string>;
  /**
   * "1.33" (newest patch at first preparation) or "1.33.4"; an existing node keeps the version it was created
   * with, since version changes are the cluster's upgrade steps' job.
   */
  readonly kubernetesVersion: string;
  readonly ssh: SshSettings;
  /** A clone of the golden image already has packages and images. */
  readonly prepared?: boolean;
}

/**
 * Makes a running VM a kubeadm-ready node over SSH: identity -> prepare -> ready (checked before kubeadm).
 */
export class K8sNode extends pulumi.ComponentResource {
  public readonly ip: pulumi.Output<string>;
  /**
   * Succeeds only once the node passed its readiness check; its stdout is the installed kubeadm's exact
   * version, which the cluster's kubeadm config uses.
   */
  public readonly ready: command.remote.Command;
  public readonly connection: command.types.input.remote.ConnectionArgs;
  public readonly kubernetesVersion: string;
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
    // verify.sh still proves a golden-image clone's result.
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
