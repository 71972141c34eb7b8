import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { scriptCommand } from "../lib/shell";

/** The chart's `tls.ca` values: base64 of the PEM text, as its `buildCustomCert` reads them. */
export interface MeshCa {
  readonly cert: string;
  readonly key: string;
}

const base64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64");

/** Ten years: the lab's clusters come and go long before; the chart signs its own shorter-lived certs with it. */
const CA_VALIDITY_HOURS = 10 * 365 * 24;

/**
 * The one Cilium CA every meshed cluster's chart signs its clustermesh-apiserver certificates with (`tls.ca`), so
 * each cluster's remote client certificate is trusted by every peer's server without per-peer `tls` entries.
 * Made by the program and kept a Pulumi secret; its inputs never change, so it is never replaced.
 */
export class ClusterMeshCa extends pulumi.ComponentResource {
  /** `tls.ca.cert` and `tls.ca.key` for the chart; secret. */
  public readonly ca: pulumi.Output<MeshCa>;

  constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:ClusterMeshCa", name, {}, opts);
    const key = new tls.PrivateKey(
      `${name}-ca-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      // @pulumi/tls marks the key's PEM outputs secret itself (additionalSecretOutputs).
      { parent: this },
    );
    const cert = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: key.privateKeyPem,
        isCaCertificate: true,
        allowedUses: ["cert_signing", "digital_signature", "key_encipherment"],
        validityPeriodHours: CA_VALIDITY_HOURS,
        subject: { commonName: "tartlab ClusterMesh CA", organization: "tartlab" },
      },
      { parent: this },
    );
    this.ca = pulumi.secret(
      pulumi.all([cert.certPem, key.privateKeyPem]).apply(([c, k]) => ({ cert: base64(c), key: base64(k) })),
    );
    this.registerOutputs({});
  }
}

export interface MeshReadyArgs {
  readonly cluster: string;
  /** The other meshed clusters, in config order, each with its control plane's IP. */
  readonly peers: Readonly<Record<string, pulumi.Input<string>>>;
  readonly controlPlaneConnection: command.types.input.remote.ConnectionArgs;
  /** The control plane VM's name: the script runs only on that VM (the identity check of lib/shell.ts). */
  readonly controlPlaneVm: string;
  /**
   * This cluster's and every peer's nodes-Ready gate: a peer's clustermesh-apiserver runs only once its nodes are
   * Ready, and this cluster's agents only report a peer connected once both sides run.
   */
  readonly after: readonly pulumi.Resource[];
}

/**
 * The bounded wait until every Cilium agent of the cluster reports every peer cluster connected
 * (scripts/cilium-install/mesh-ready.sh). Nothing depends on it: a slow mesh never holds back Jenkins.
 */
export class MeshReady extends pulumi.ComponentResource {
  public readonly ready: command.remote.Command;

  constructor(name: string, args: MeshReadyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:MeshReady", name, {}, opts);
    this.ready = new command.remote.Command(
      `${name}-mesh-ready`,
      {
        connection: args.controlPlaneConnection,
        ...scriptCommand({
          create: "cilium-install/mesh-ready.sh",
          vm: args.controlPlaneVm,
          sudo: true,
          env: {
            CLUSTER_NAME: args.cluster,
            PEERS: Object.keys(args.peers).join(" "),
            // Not read by the script: a peer at a new address is an update, so the wait for the link to it runs again.
            PEER_ADDRESSES: pulumi.all(args.peers).apply((ips) =>
              Object.keys(args.peers)
                .map((peer) => `${peer} ${ips[peer]}`)
                .join("\n"),
            ),
          },
        }),
      },
      { parent: this, dependsOn: [...args.after] },
    );
    this.registerOutputs({});
  }
}
