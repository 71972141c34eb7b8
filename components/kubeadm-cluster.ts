import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { K8sNode } from "./k8s-node";
import * as path from "node:path";
import { ClusterRecord } from "../lib/cluster-record-format";
import { ClusterSpec, KubeconfigSpec } from "../lib/lab-config";
import { API_SERVER_PORT, initConfig, joinConfig, parseJoinToken, parseKubeadmVersion } from "../lib/kubeadm";
import { versionEnv } from "../lib/kube-version";
import { rewriteKubeconfig } from "../lib/kubeconfig";
import { scriptCommand } from "../lib/shell";

export interface ClusterMember {
  readonly name: string;
  readonly node: K8sNode;
}

export interface KubeadmClusterArgs {
  readonly spec: ClusterSpec;
  readonly controlPlane: ClusterMember;
  readonly workers: readonly ClusterMember[];
  /** Written on the Mac once every step succeeded (lib/cluster-record-rules.ts `nextRecord`). */
  readonly record: ClusterRecord;
  /** The VM's login user, who gets a kubeconfig too. */
  readonly loginUser: string;
  /** Only for `TARTLAB_FORGET_UNREACHABLE=1 pulumi destroy` of a lab whose VMs are gone. */
  readonly forgetUnreachable: boolean;
  /** Whether the Mac's kubeconfig gets this cluster's context, and whether it becomes current. */
  readonly contexts: KubeconfigSpec;
}

const SECRET_STDOUT = { logging: "none" as const };
const SECRET_OUTPUTS = ["stdout", "stderr"];
/** CommonJS: __dirname is components/, and the host step runs ops/kubeconfig.ts from the checkout. */
const PROJECT_DIR = path.join(__dirname, "..");

interface NodeStep {
  /** The bundle checks it runs on this node's VM before running anything. */
  readonly on: ClusterMember;
  readonly create: string;
  readonly delete?: string;
  readonly sudo?: boolean;
  readonly env: Record<string, pulumi.Input<string>>;
  /** Its stdout is a secret (a kubeconfig, a join token): never logged, stored as a secret. */
  readonly secret?: boolean;
  readonly logging?: "stderr";
  /** The nodes whose re-clone (a new VM id) replaces the step, so it runs again. */
  readonly triggeredBy: readonly ClusterMember[];
  readonly dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** `init`, then per worker netcheck -> join -> member, with this cluster's own `k8s.Provider`. */
export class KubeadmCluster extends pulumi.ComponentResource {
  public readonly init: command.remote.Command;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly apiServer: pulumi.Output<string>;
  public readonly provider: k8s.Provider;
  public readonly joins: command.remote.Command[];
  /** The control plane's upgrade step; its stdout is the exact version the control plane runs. */
  public readonly upgrade: command.remote.Command;
  /** Per node, the step that completes once it is registered at its changed address; Cilium follows it. */
  public readonly repointed: Readonly<Record<string, pulumi.Resource>>;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:KubeadmCluster", name, {}, opts);
    const cp = args.controlPlane;
    this.apiServer = pulumi.interpolate`https://${cp.node.ip}:${API_SERVER_PORT}`;

    // The exact version from the readiness step is a real input of `init`, so a changed kubeadm shows in the
    // plan and kubeadm never looks up `stable-1` online.
    const version = cp.node.ready.stdout.apply(parseKubeadmVersion);
    this.init = this.initControlPlane(name, args, version);
    this.kubeconfig = this.adminKubeconfig(name, args);
    this.hostKubeconfig(name, args);
    this.provider = this.clusterProvider(name, args);

    this.joins = args.workers.map((w) => this.joinWorker(name, args, w, version));
    this.repointed = Object.fromEntries([
      [cp.name, this.init],
      ...args.workers.map((w, i) => [w.name, this.joins[i]] as const),
    ]);

    this.upgrade = this.upgradeControlPlane(name, args);
    const cpVersion = this.upgrade.stdout.apply(parseKubeadmVersion);
    const upgraded = this.upgradeWorkers(name, args, cpVersion);
    this.versionRecord(name, args, cpVersion, upgraded);

    this.registerOutputs({ kubeconfig: this.kubeconfig, apiServer: this.apiServer });
  }

  private nodeStep(resourceName: string, step: NodeStep): command.remote.Command {
    return new command.remote.Command(
      resourceName,
      {
        connection: step.on.node.connection,
        ...scriptCommand({
          create: step.create,
          delete: step.delete,
          vm: step.on.name,
          sudo: step.sudo,
          env: step.env,
        }),
        ...(step.secret ? SECRET_STDOUT : {}),
        ...(step.logging ? { logging: step.logging } : {}),
        triggers: step.triggeredBy.map((m) => m.node.vmId),
      },
      {
        parent: this,
        dependsOn: step.dependsOn,
        ...(step.secret ? { additionalSecretOutputs: SECRET_OUTPUTS } : {}),
      },
    );
  }

  // A re-cloned control plane is a new cluster: init, its kubeconfig and the provider follow its VM's identity.
  private initControlPlane(name: string, args: KubeadmClusterArgs, version: pulumi.Output<string>) {
    const cp = args.controlPlane;
    return this.nodeStep(`${name}-init`, {
      on: cp,
      create: "kubeadm-cluster/init.sh",
      sudo: true,
      env: {
        NODE_NAME: cp.name,
        LOGIN_USER: args.loginUser,
        KUBERNETES_VERSION: version,
        KUBEADM_CONFIG: pulumi.all([cp.node.ip, version]).apply(([nodeIp, kubernetesVersion]) =>
          initConfig({
            clusterName: args.spec.name,
            nodeName: cp.name,
            nodeIp,
            podCidr: args.spec.podCidr,
            serviceCidr: args.spec.serviceCidr,
            kubernetesVersion,
            // A cluster without workers runs everything on its control plane.
            untaintControlPlane: args.workers.length === 0,
          }),
        ),
      },
      triggeredBy: [cp],
      dependsOn: [cp.node.ready],
    });
  }

  private adminKubeconfig(name: string, args: KubeadmClusterArgs): pulumi.Output<string> {
    const adminConf = this.nodeStep(`${name}-kubeconfig`, {
      on: args.controlPlane,
      create: "kubeadm-cluster/kubeconfig.sh",
      sudo: true,
      env: {},
      secret: true,
      triggeredBy: [args.controlPlane],
      dependsOn: [this.init],
    });
    return pulumi.secret(
      pulumi
        .all([adminConf.stdout, this.apiServer])
        .apply(([conf, server]) => rewriteKubeconfig(conf, args.spec.name, server)),
    );
  }

  // The Mac gets ~/.tartlab/kube/<cluster>.yaml (mode 600) and, by default, a context in your kubeconfig.
  private hostKubeconfig(name: string, args: KubeadmClusterArgs): void {
    new command.local.Command(
      `${name}-host-kubeconfig`,
      {
        ...scriptCommand({
          create: "kubeadm-cluster/host-kubeconfig.sh",
          delete: "kubeadm-cluster/host-kubeconfig-remove.sh",
          env: {
            CLUSTER_NAME: args.spec.name,
            KUBECONFIG_CONTENT: this.kubeconfig,
            KUBECONFIG_MERGE: String(args.contexts.merge),
            SET_CURRENT_CONTEXT: String(args.contexts.currentContext === args.spec.name),
            TARTLAB_PROJECT_DIR: PROJECT_DIR,
          },
        }),
        ...SECRET_STDOUT,
      },
      { parent: this },
    );
  }

  private clusterProvider(name: string, args: KubeadmClusterArgs): k8s.Provider {
    const cp = args.controlPlane;
    return new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        enableServerSideApply: true,
        // The control plane VM's clone id stays the same through a resize, restart or re-read kubeconfig, so
        // none of those replaces the provider (pulumi-kubernetes DiffConfig), while a re-cloned control plane
        // makes a new cluster.
        clusterIdentifier: pulumi.interpolate`tartlab/${args.spec.name}/${cp.node.vmId}`,
        // With it, `pulumi refresh` of a stopped lab would report every object deleted and the next `up`
        // would fail on "already exists".
        deleteUnreachable: args.forgetUnreachable,
      },
      { parent: this },
    );
  }

  private joinWorker(
    name: string,
    args: KubeadmClusterArgs,
    w: ClusterMember,
    version: pulumi.Output<string>,
  ) {
    const cp = args.controlPlane;
    const cpIp = cp.node.ip;
    // A re-cloned node joins again with a fresh token, after its old Node is drained and removed.
    const triggeredBy = [w, cp];
    const netcheck = this.nodeStep(`${name}-${w.name}-netcheck`, {
      on: w,
      create: "kubeadm-cluster/netcheck.sh",
      env: { NODE_NAME: w.name, API_SERVER: pulumi.interpolate`${cpIp}:${API_SERVER_PORT}` },
      triggeredBy,
      dependsOn: [this.init, w.node.ready],
    });
    const token = this.nodeStep(`${name}-${w.name}-join-token`, {
      on: cp,
      create: "kubeadm-cluster/join-token.sh",
      sudo: true,
      env: { WORKER_NAME: w.name },
      secret: true,
      triggeredBy,
      dependsOn: [this.init],
    });
    const join = this.nodeStep(`${name}-${w.name}-join`, {
      on: w,
      create: "kubeadm-cluster/join.sh",
      sudo: true,
      env: {
        NODE_NAME: w.name,
        // A worker added after an upgrade was prepared at the current version; init's is the first build's.
        KUBERNETES_VERSION:
          w.node.kubernetesVersion === cp.node.kubernetesVersion
            ? version
            : w.node.ready.stdout.apply(parseKubeadmVersion),
        CA_CERT_HASH: token.stdout.apply((out) => parseJoinToken(out).caCertHash),
        // An already-joined worker is re-pointed when either address changed.
        NODE_IP: w.node.ip,
        API_SERVER_ENDPOINT: pulumi.interpolate`${cpIp}:${API_SERVER_PORT}`,
        JOIN_CONFIG: pulumi.secret(
          pulumi
            .all([token.stdout, w.node.ip, cpIp])
            .apply(([out, nodeIp, controlPlaneIp]) =>
              joinConfig({ nodeName: w.name, nodeIp, controlPlaneIp, ...parseJoinToken(out) }),
            ),
        ),
      },
      logging: "stderr",
      triggeredBy,
      dependsOn: [netcheck, token],
    });
    return this.nodeStep(`${name}-${w.name}-member`, {
      on: cp,
      create: "kubeadm-cluster/member-wait.sh",
      delete: "kubeadm-cluster/member-remove.sh",
      sudo: true,
      env: { WORKER_NAME: w.name },
      triggeredBy,
      dependsOn: [join],
    });
  }

  // Upgrade steps are no-ops when their node runs the target, so a first build creates them and a version
  // change shows exactly these steps: control plane, then each worker in turn (drain -> upgrade -> uncordon).
  private upgradeControlPlane(name: string, args: KubeadmClusterArgs): command.remote.Command {
    const cp = args.controlPlane;
    return this.nodeStep(`${name}-upgrade`, {
      on: cp,
      create: "kubeadm-cluster/upgrade-control-plane.sh",
      sudo: true,
      env: {
        NODE_NAME: cp.name,
        ...versionEnv(args.spec.kubernetesVersion),
      },
      triggeredBy: [cp],
      dependsOn: [this.init],
    });
  }

  private upgradeWorkers(
    name: string,
    args: KubeadmClusterArgs,
    cpVersion: pulumi.Output<string>,
  ): pulumi.Resource {
    const cp = args.controlPlane;
    let previous: pulumi.Resource = this.upgrade;
    args.workers.forEach((w, i) => {
      const drain = this.nodeStep(`${name}-${w.name}-drain`, {
        on: cp,
        create: "kubeadm-cluster/upgrade-drain.sh",
        sudo: true,
        env: { WORKER_NAME: w.name, CONTROL_PLANE_VERSION: cpVersion },
        triggeredBy: [w, cp],
        dependsOn: [previous, this.joins[i]],
      });
      const upgrade = this.nodeStep(`${name}-${w.name}-upgrade`, {
        on: w,
        create: "kubeadm-cluster/upgrade-node.sh",
        sudo: true,
        env: { NODE_NAME: w.name, CONTROL_PLANE_VERSION: cpVersion },
        triggeredBy: [w, cp],
        dependsOn: [drain],
      });
      previous = this.nodeStep(`${name}-${w.name}-uncordon`, {
        on: cp,
        create: "kubeadm-cluster/upgrade-uncordon.sh",
        sudo: true,
        env: { WORKER_NAME: w.name, CONTROL_PLANE_VERSION: cpVersion },
        triggeredBy: [w, cp],
        dependsOn: [upgrade],
      });
    });
    return previous;
  }

  // Written only after every step succeeded, so a failed upgrade is retried by the next run.
  private versionRecord(
    name: string,
    args: KubeadmClusterArgs,
    cpVersion: pulumi.Output<string>,
    previous: pulumi.Resource,
  ): void {
    new command.local.Command(
      `${name}-version-record`,
      {
        ...scriptCommand({
          create: "kubeadm-cluster/version-record.sh",
          delete: "kubeadm-cluster/version-record-remove.sh",
          env: {
            CLUSTER_NAME: args.spec.name,
            // The exact version the control plane runs: the upgrade step's output when the program cannot know it.
            RECORD:
              args.record.patch !== undefined
                ? JSON.stringify(args.record)
                : cpVersion.apply((v) => JSON.stringify({ ...args.record, patch: v.replace(/^v/, "") })),
          },
        }),
      },
      { parent: this, dependsOn: [previous, ...this.joins] },
    );
  }
}
