import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { K8sNode } from "./k8s-node";
import { ClusterSpec } from "../lib/lab-config";
import { API_SERVER_PORT, initConfig, joinConfig, parseJoinToken, parseKubeadmVersion } from "../lib/kubeadm";
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
  /**
   * "1.33" or "1.33.4" (validated string, V02), as the nodes were prepared with; the exact version the cluster
   * runs is read from the control plane's installed kubeadm (its `ready` step).
   */
  readonly kubernetesVersion: string;
  /** The VM's login user, who gets a kubeconfig too (V10). */
  readonly loginUser: string;
}

/** Output options for commands whose stdout is secret: never streamed to logs, stored as secrets. */
const SECRET_STDOUT = { logging: "none" as const };
const SECRET_OUTPUTS = ["stdout", "stderr"];

/**
 * One kubeadm cluster: `init` on the control plane, then per worker `netcheck` (API server reachable from the
 * worker, T03) -> `join` -> `member` (Node registered; on delete: drain + remove). Exposes the admin
 * kubeconfig (secret, unique names) and a `k8s.Provider` for this cluster alone.
 */
export class KubeadmCluster extends pulumi.ComponentResource {
  public readonly init: command.remote.Command;
  public readonly kubeconfig: pulumi.Output<string>;
  public readonly apiServer: pulumi.Output<string>;
  public readonly provider: k8s.Provider;
  /** One resource per worker that completes when the worker has joined and registered. */
  public readonly joins: command.remote.Command[];

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:KubeadmCluster", name, {}, opts);
    const cp = args.controlPlane;
    const cpIp = cp.node.ip;
    this.apiServer = pulumi.interpolate`https://${cpIp}:${API_SERVER_PORT}`;

    // The exact version comes from the control plane's readiness step: a real input of `init`, so a changed
    // kubeadm shows up in the plan, and never left to kubeadm's online `stable-1` lookup.
    const version = cp.node.ready.stdout.apply(parseKubeadmVersion);
    // A re-cloned control plane is a new cluster: init, its kubeconfig and the provider follow its VM's identity.
    const cpTriggers = [cp.node.vmId];
    this.init = new command.remote.Command(
      `${name}-init`,
      {
        connection: cp.node.connection,
        ...scriptCommand({
          create: "kubeadm-cluster/init.sh",
          sudo: true,
          env: {
            NODE_NAME: cp.name,
            LOGIN_USER: args.loginUser,
            KUBERNETES_VERSION: version,
            KUBEADM_CONFIG: pulumi.all([cpIp, version]).apply(([nodeIp, kubernetesVersion]) =>
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
        }),
        triggers: cpTriggers,
      },
      { parent: this, dependsOn: [cp.node.ready] },
    );

    const adminConf = new command.remote.Command(
      `${name}-kubeconfig`,
      {
        connection: cp.node.connection,
        ...scriptCommand({ create: "kubeadm-cluster/kubeconfig.sh", sudo: true, env: {} }),
        ...SECRET_STDOUT,
        triggers: cpTriggers,
      },
      { parent: this, dependsOn: [this.init], additionalSecretOutputs: SECRET_OUTPUTS },
    );
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([adminConf.stdout, this.apiServer])
        .apply(([conf, server]) => rewriteKubeconfig(conf, args.spec.name, server)),
    );
    // V10: the Mac gets the kubeconfig as a file too (~/.tartlab/kube/<cluster>.yaml, mode 600).
    new command.local.Command(
      `${name}-host-kubeconfig`,
      {
        ...scriptCommand({
          create: "kubeadm-cluster/host-kubeconfig.sh",
          delete: "kubeadm-cluster/host-kubeconfig-remove.sh",
          env: { CLUSTER_NAME: args.spec.name, KUBECONFIG_CONTENT: this.kubeconfig },
        }),
        ...SECRET_STDOUT,
      },
      { parent: this },
    );
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        kubeconfig: this.kubeconfig,
        enableServerSideApply: true,
        // The provider's identity is the control plane VM's (its clone's id): known and unchanged through a resize,
        // a restart or a re-read kubeconfig, so none of those replaces the provider and every object on it
        // (pulumi-kubernetes DiffConfig: a known, unchanged clusterIdentifier clears every replace; issue 10 row 1).
        // A re-cloned control plane is a new cluster: the id changes, and Cilium, storage and Jenkins are created
        // again in it; objects of a cluster that is gone are dropped from state.
        clusterIdentifier: pulumi.interpolate`tartlab/${args.spec.name}/${cp.node.vmId}`,
        deleteUnreachable: true,
      },
      { parent: this },
    );

    this.joins = args.workers.map((w) => {
      // A re-cloned worker (or control plane) runs its whole join again, with a fresh token (row 8); its old Node
      // object is removed first (member is replaced, its delete drains and removes the node).
      const triggers = [w.node.vmId, cp.node.vmId];
      const netcheck = new command.remote.Command(
        `${name}-${w.name}-netcheck`,
        {
          connection: w.node.connection,
          ...scriptCommand({
            create: "kubeadm-cluster/netcheck.sh",
            env: { NODE_NAME: w.name, API_SERVER: pulumi.interpolate`${cpIp}:${API_SERVER_PORT}` },
          }),
          triggers,
        },
        { parent: this, dependsOn: [this.init, w.node.ready] },
      );
      const token = new command.remote.Command(
        `${name}-${w.name}-join-token`,
        {
          connection: cp.node.connection,
          ...scriptCommand({
            create: "kubeadm-cluster/join-token.sh",
            sudo: true,
            env: { WORKER_NAME: w.name },
          }),
          ...SECRET_STDOUT,
          triggers,
        },
        { parent: this, dependsOn: [this.init], additionalSecretOutputs: SECRET_OUTPUTS },
      );
      const join = new command.remote.Command(
        `${name}-${w.name}-join`,
        {
          connection: w.node.connection,
          ...scriptCommand({
            create: "kubeadm-cluster/join.sh",
            sudo: true,
            env: {
              NODE_NAME: w.name,
              KUBERNETES_VERSION: version,
              CA_CERT_HASH: token.stdout.apply((out) => parseJoinToken(out).caCertHash),
              JOIN_CONFIG: pulumi.secret(
                pulumi
                  .all([token.stdout, w.node.ip, cpIp])
                  .apply(([out, nodeIp, controlPlaneIp]) =>
                    joinConfig({ nodeName: w.name, nodeIp, controlPlaneIp, ...parseJoinToken(out) }),
                  ),
              ),
            },
          }),
          logging: "stderr",
          triggers,
        },
        { parent: this, dependsOn: [netcheck, token] },
      );
      return new command.remote.Command(
        `${name}-${w.name}-member`,
        {
          connection: cp.node.connection,
          ...scriptCommand({
            create: "kubeadm-cluster/member-wait.sh",
            delete: "kubeadm-cluster/member-remove.sh",
            sudo: true,
            env: { WORKER_NAME: w.name },
          }),
          triggers,
        },
        { parent: this, dependsOn: [join] },
      );
    });

    this.registerOutputs({ kubeconfig: this.kubeconfig, apiServer: this.apiServer });
  }
}
