import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubeadmCluster } from "./kubeadm-cluster";
import { MeshCa } from "./cluster-mesh";
import { ClusterSpec, MESH_NODE_PORT } from "../lib/lab-config";
import { API_SERVER_PORT } from "../lib/kubeadm";
import { scriptCommand } from "../lib/shell";

/** The Cilium chart values tartlab sets (keys from the chart's values.yaml). */
export interface CiliumValues {
  /** "true" | "false" are the only valid values since 1.14 (strict/partial are gone). */
  readonly kubeProxyReplacement: "true";
  /** No kube-proxy means no ClusterIP for the API server until Cilium runs: talk to the node directly (T04). */
  readonly k8sServiceHost: string;
  readonly k8sServicePort: number;
  readonly ipam: {
    readonly mode: "cluster-pool";
    readonly operator: {
      readonly clusterPoolIPv4PodCIDRList: string[];
      readonly clusterPoolIPv4MaskSize: number;
    };
  };
  /**
   * Unique name and id per cluster keep ClusterMesh possible. The id comes from the cluster's name (or its explicit
   * `id`), so adding or reordering other clusters never upgrades this cluster's CNI (lib/lab-config.ts).
   */
  readonly cluster: { readonly name: string; readonly id: number };
  /** Softnet only passes the VM's own MAC/IP: pod traffic must be encapsulated (cirruslabs/softnet README). */
  readonly routingMode: "tunnel";
  readonly tunnelProtocol: "vxlan";
  /** One control plane: a second operator replica would never schedule (its anti-affinity wants 2 nodes). */
  readonly operator: { readonly replicas: number };
  readonly clustermesh?: {
    /** The clustermesh-apiserver: its KVStoreMesh (the chart's default) dials the peers' and serves our agents. */
    readonly useAPIServer: true;
    /**
     * NodePort on the control plane's address, not LB IPAM with L2 announcements: softnet passes only a VM's own
     * MAC/IP, so an announced extra IP would be dropped, and the macOS vmnet DHCP pool reserves no range for one.
     */
    readonly apiserver: { readonly service: { readonly type: "NodePort"; readonly nodePort: number } };
    readonly config: {
      readonly enabled: true;
      /**
       * Peers only, in the chart's dict form: with `ips` each is dialled as `<name>.mesh.cilium.io`, a name the
       * chart's server certificate covers; the chart does not skip the local cluster, so it is left out.
       */
      readonly clusters: Readonly<Record<string, { readonly port: number; readonly ips: readonly string[] }>>;
    };
  };
  /** The CA shared by the mesh: the chart signs each cluster's server and remote certificates with it. */
  readonly tls?: { readonly ca: MeshCa };
}

/** A meshed cluster's share of the mesh: the shared CA and each peer's control plane address. */
export interface MeshValues {
  readonly ca: MeshCa;
  /** Peer cluster name -> its control plane's IP, in config order. */
  readonly peers: Readonly<Record<string, string>>;
}

export function ciliumValues(spec: ClusterSpec, controlPlaneIp: string, mesh?: MeshValues): CiliumValues {
  const base: CiliumValues = {
    kubeProxyReplacement: "true",
    k8sServiceHost: controlPlaneIp,
    k8sServicePort: API_SERVER_PORT,
    ipam: {
      mode: "cluster-pool",
      operator: { clusterPoolIPv4PodCIDRList: [spec.podCidr], clusterPoolIPv4MaskSize: 24 },
    },
    cluster: { name: spec.name, id: spec.id },
    routingMode: "tunnel",
    tunnelProtocol: "vxlan",
    operator: { replicas: 1 },
  };
  if (mesh === undefined) return base;
  return {
    ...base,
    clustermesh: {
      useAPIServer: true,
      apiserver: { service: { type: "NodePort", nodePort: MESH_NODE_PORT } },
      config: {
        enabled: true,
        clusters: Object.fromEntries(
          Object.entries(mesh.peers).map(([peer, ip]) => [peer, { port: MESH_NODE_PORT, ips: [ip] }]),
        ),
      },
    },
    tls: { ca: mesh.ca },
  };
}

export interface CiliumInstallArgs {
  readonly spec: ClusterSpec;
  readonly cluster: KubeadmCluster;
  /** The control plane's IP and SSH connection (the Ready gate runs kubectl there). */
  readonly controlPlaneIp: pulumi.Input<string>;
  readonly controlPlaneConnection: command.types.input.remote.ConnectionArgs;
  /** The control plane VM's name: the Ready gate's script runs only on that VM (the identity check of lib/shell.ts). */
  readonly controlPlaneVm: string;
  /** Every node name of the cluster: the gate waits for each of them to be Ready. */
  readonly nodeNames: readonly string[];
  /**
   * Per node, its current address: its Cilium agent is restarted when its CiliumNode still names another one
   * (scripts/cilium-install/agent-restart.sh).
   */
  readonly nodeIps: Readonly<Record<string, pulumi.Input<string>>>;
  /** Cilium chart version (validated string). */
  readonly version: string;
  /**
   * Per node, its VM's size and run options (TartVm.runSpec): an input of the Ready gate, so the gate runs again
   * after a resize or a new `softnetAllow` restarted a VM, and `up` fails if the nodes do not come back.
   */
  readonly vmRuns: Readonly<Record<string, string>>;
  /**
   * How many repairs the drift check has made to this cluster's VMs (lib/drift-report.ts `repairs`). An input of
   * the Ready gate when above 0, so the gate runs again after each repair and `up` fails if the nodes do not come
   * back; a cluster never repaired keeps the inputs it always had.
   * @default 0
   */
  readonly repairs?: number;
  /**
   * ClusterMesh: the shared CA and each peer's control plane IP (peer name -> IP). Unset: no mesh values at all,
   * so a lab without the mesh keeps the values it always had.
   */
  readonly mesh?: {
    readonly ca: pulumi.Input<MeshCa>;
    readonly peers: Readonly<Record<string, pulumi.Input<string>>>;
  };
}

/**
 * Cilium through the cluster's own provider after every node followed its address (init, joins), then per node
 * the agent restart that makes Cilium follow a changed address, then the "nodes Ready" gate, which depends on
 * Cilium, every worker's join and every agent restart: nodes only count as Ready once the CNI runs on all of them.
 */
export class CiliumInstall extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** Completes when every node of the cluster is Ready; anything that needs a working cluster depends on it. */
  public readonly nodesReady: command.remote.Command;

  constructor(name: string, args: CiliumInstallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:CiliumInstall", name, {}, opts);
    const mesh = args.mesh;
    // With the mesh the values carry the CA key: the whole input is secret, and so is the release's output copy.
    const values =
      mesh === undefined
        ? pulumi.output(args.controlPlaneIp).apply((ip) => ciliumValues(args.spec, ip))
        : pulumi.secret(
            pulumi
              .all([args.controlPlaneIp, mesh.ca, pulumi.all(mesh.peers)])
              .apply(([ip, ca, peers]) => ciliumValues(args.spec, ip, { ca, peers })),
          );
    this.release = new k8s.helm.v3.Release(
      `${name}-cilium`,
      {
        name: "cilium",
        chart: "cilium",
        version: args.version,
        repositoryOpts: { repo: "https://helm.cilium.io" },
        namespace: "kube-system",
        values,
        timeout: 900,
      },
      // After the re-points: a Helm upgrade for a moved control plane rolls every agent, which a worker's kubelet
      // still pointed at the old address would never run.
      {
        parent: this,
        provider: args.cluster.provider,
        dependsOn: [args.cluster.init, ...args.cluster.joins],
        ...(mesh === undefined ? {} : { additionalSecretOutputs: ["values"] }),
      },
    );
    const agents = args.nodeNames.map(
      (node) =>
        new command.remote.Command(
          `${name}-${node}-cilium-agent`,
          {
            connection: args.controlPlaneConnection,
            ...scriptCommand({
              create: "cilium-install/agent-restart.sh",
              vm: args.controlPlaneVm,
              sudo: true,
              env: { NODE_NAME: node, NODE_IP: args.nodeIps[node] },
            }),
          },
          { parent: this, dependsOn: [this.release, args.cluster.repointed[node]] },
        ),
    );
    this.nodesReady = new command.remote.Command(
      `${name}-nodes-ready`,
      {
        connection: args.controlPlaneConnection,
        ...scriptCommand({
          create: "cilium-install/nodes-ready.sh",
          vm: args.controlPlaneVm,
          sudo: true,
          env: {
            CLUSTER_NAME: args.spec.name,
            EXPECTED_NODES: args.nodeNames.join(" "),
            // Not read by the script: a changed value is an update, which runs the gate again.
            VM_RUNS: Object.entries(args.vmRuns)
              .map(([vm, spec]) => `${vm} ${spec}`)
              .join("\n"),
            ...((args.repairs ?? 0) > 0 ? { REPAIRS: String(args.repairs) } : {}),
          },
        }),
      },
      { parent: this, dependsOn: [this.release, ...args.cluster.joins, ...agents] },
    );
    this.registerOutputs({});
  }
}
