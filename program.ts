/**
 * The whole lab: preflight -> config -> components -> stack outputs. index.ts runs it with the real host probe;
 * tests and `npm run plan` run it with recorded facts.
 */
import * as pulumi from "@pulumi/pulumi";
import { CiliumInstall } from "./components/cilium-install";
import { ClusterMeshCa, MeshReady } from "./components/cluster-mesh";
import { GoldenImage, goldenImageInputs, goldenImageName } from "./components/golden-image";
import { Jenkins } from "./components/jenkins";
import { K8sNode } from "./components/k8s-node";
import { KubeadmCluster } from "./components/kubeadm-cluster";
import { LocalPathStorage } from "./components/local-path-storage";
import { TartVm } from "./components/tart-vm";
import { loadConfig } from "./lib/config";
import { HostFacts, checkHost } from "./lib/host";
import { ClusterRecords } from "./lib/cluster-record-format";
import {
  clusterChangeProblems,
  knownPatch,
  nextRecord,
  nodeVersion,
  versionChangeProblems,
} from "./lib/cluster-record-rules";
import { recordPath } from "./mac/cluster-record";
import { isIpv4 } from "./lib/ip";
import { LabConfig } from "./lib/lab-config";
import { ownerMarker } from "./mac/home";
import { GOLDEN_PREFIX, NodeImage, nodeImage } from "./lib/node-image";
import { DataCheck, PlannedLoss, plannedLoss } from "./mac/data-guard";
import { checkKubernetesPackages } from "./lib/package-index";
import { DriftReport, NO_DRIFT } from "./lib/drift-report";

export interface ProgramOptions {
  /** Host facts for preflight; `undefined` skips the host check (offline plan on a non-Mac). */
  readonly hostFacts: () => HostFacts | undefined;
  /**
   * Finds (and, in `up`, repairs) VMs that died, hang, lost or changed their address, before the graph
   * runs (it starts stopped VMs too: the T09 revive, mac/revive.ts); the graph follows the addresses it reports.
   * Left out offline (tests, plan).
   */
  readonly drift?: (config: LabConfig, owner: string, dryRun: boolean) => Promise<DriftReport>;
  /** Reads a Kubernetes minor's pkgs.k8s.io `Packages` index (lib/package-index.ts); left out offline. */
  readonly packageIndex?: (minor: string) => Promise<string>;
  /**
   * Live check of data this change would delete (mac/data-guard.ts: volumes on removed VMs, on VMs and clusters
   * this run rebuilds, as `planned` says, a disabled Jenkins); left out offline.
   */
  readonly dataGuard?: (config: LabConfig, owner: string, planned: PlannedLoss) => Promise<DataCheck>;
  /**
   * The clusters' version records on the Mac (mac/cluster-record.ts); left out offline, where every cluster
   * counts as new.
   */
  readonly clusterRecords?: (config: LabConfig) => ClusterRecords;
}

/** The nodes' architecture: arm64 Ubuntu on Apple Silicon. */
const NODE_ARCH = "arm64";

/** Identity of this stack on the Mac: recorded with every VM it makes (never touch another stack's VMs). */
const owner = () => ownerMarker(pulumi.getProject(), pulumi.getStack());

/** Everything `buildLab` needs, validated. Throws (before any resource exists) on bad config or host. */
export function prepareLab(opts: ProgramOptions) {
  const loaded = loadConfig();
  const { config, secrets } = loaded;
  const warnings = [...loaded.warnings];
  const facts = opts.hostFacts();
  if (facts) {
    const host = checkHost(facts, config);
    warnings.push(...host.warnings);
    if (host.problems.length > 0) {
      throw new pulumi.RunError(
        `host preflight failed; nothing was created:\n${host.problems.map((p) => `  - ${p}`).join("\n")}`,
      );
    }
  }
  const records = opts.clusterRecords?.(config) ?? {};
  const versionProblems = versionChangeProblems(config, records, recordPath);
  if (versionProblems.length > 0) {
    throw new pulumi.RunError(
      `version preflight failed; nothing was changed:\n${versionProblems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  const clones = planClones(config, records);
  // What this run clones again or builds anew (the data guard judges it; a rebuilt cluster takes any new range).
  const planned = plannedLoss(config, records, (cluster, vm) => clones[cluster][vm].image.recloned);
  const changeProblems = clusterChangeProblems(
    config,
    records,
    new Set(planned.rebuilt.map((r) => r.cluster)),
    recordPath,
  );
  if (changeProblems.length > 0) {
    throw new pulumi.RunError(
      `cluster change preflight failed; nothing was changed:\n${changeProblems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  for (const w of warnings) pulumi.log.warn(w);
  return { config, secrets, records, clones, planned };
}

/** Per cluster, per node: the version its steps carry and the image its VM is cloned from (lib/node-image.ts). */
export type ClonePlan = Readonly<
  Record<string, Readonly<Record<string, { readonly version: string; readonly image: NodeImage }>>>
>;

function planClones(config: LabConfig, records: ClusterRecords): ClonePlan {
  const names = new Map<string, string>();
  const goldenName = (version: string) => {
    let name = names.get(version);
    if (name === undefined) {
      name = goldenImageName(goldenImageInputs({ ...config, kubernetesVersion: version }));
      names.set(version, name);
    }
    return name;
  };
  return Object.fromEntries(
    config.clusters.map((cluster) => {
      const record = records[cluster.name];
      const nodes = cluster.nodes.map(({ name }) => {
        // An existing node keeps the version it was prepared with: a version change is the cluster's upgrade.
        const version = nodeVersion(cluster, name, record);
        return [name, { version, image: nodeImage(config, name, version, record, goldenName) }] as const;
      });
      return [cluster.name, Object.fromEntries(nodes)];
    }),
  );
}

/** Registers the lab's resources and returns the stack outputs. */
export function buildLab({
  config,
  secrets,
  records,
  clones,
  planned,
  drift = NO_DRIFT,
}: ReturnType<typeof prepareLab> & { readonly drift?: DriftReport }) {
  // T09: an address is passed on only when it is one (never an empty or garbled value), before any resource exists.
  const badAddresses = Object.entries(drift.addresses).filter(([, ip]) => !isIpv4(ip));
  if (badAddresses.length > 0) {
    throw new pulumi.RunError(
      `drift check: ${badAddresses.map(([vm, ip]) => `VM ${vm}: address ${JSON.stringify(ip)} is not an IPv4 address`).join("; ")}; nothing was changed (mac/drift.ts)`,
    );
  }
  const vmOwner = owner();
  const ssh = { user: config.sshUser, secrets };
  // Golden node images: one bake per Kubernetes version whose newest image a VM clones
  // (lib/node-image.ts), named by that version so that an upgrade of the lab keeps it. Existing VMs keep the image
  // they were cloned from, so no bake is registered for an image that only older VMs use.
  const bakes = new Map<string, GoldenImage>();
  for (const { image } of Object.values(clones).flatMap((c) => Object.values(c))) {
    const v = image.bake;
    if (v === undefined || bakes.has(v)) continue;
    const name = `golden-image-${v.replace(/\./g, "-")}`;
    bakes.set(v, new GoldenImage(name, goldenImageInputs({ ...config, kubernetesVersion: v })));
  }

  const rebuilt = new Set(planned.rebuilt.map((r) => r.cluster));
  // ClusterMesh: one CA for every meshed cluster (only while two or more are meshed), and each meshed cluster's
  // control plane address, known once its cluster is built, for every peer's Helm values.
  const meshCa = config.clusterMesh.length >= 2 ? new ClusterMeshCa("cluster-mesh") : undefined;
  const meshIps = new Map(config.clusterMesh.map((name) => [name, pulumi.deferredOutput<string>()]));
  const meshOf = (name: string) =>
    meshCa && meshIps.has(name)
      ? {
          ca: meshCa.ca,
          peers: Object.fromEntries(
            config.clusterMesh.filter((p) => p !== name).map((p) => [p, meshIps.get(p)![0]]),
          ),
        }
      : undefined;
  const clusters = config.clusters.map((cluster) => {
    const record = records[cluster.name];
    const nodes = cluster.nodes.map((spec) => {
      const { version: kubernetesVersion, image } = clones[cluster.name][spec.name];
      const vm = new TartVm(spec.name, {
        baseImage: image.image,
        baseImageStep: image.bake === undefined ? undefined : bakes.get(image.bake),
        cpus: spec.cpus,
        memoryMb: spec.memoryMb,
        diskGb: spec.diskGb,
        softnetAllow: config.softnetAllow,
        ipWaitSeconds: config.ipWaitSeconds,
        owner: vmOwner,
        // The lab follows a changed DHCP address through the graph (docs/plans.md "Changed addresses").
        address: drift.addresses[spec.name],
      });
      const node = new K8sNode(spec.name, {
        ip: vm.ip,
        vmId: vm.vmId,
        kubernetesVersion,
        ssh,
        prepared: image.image.startsWith(GOLDEN_PREFIX),
      });
      return { name: spec.name, spec, vm, node };
    });
    const [controlPlane, ...workers] = nodes; // validated: exactly one control plane, listed first
    meshIps.get(cluster.name)?.[1](controlPlane.node.ip);
    const kubeadm = new KubeadmCluster(cluster.name, {
      spec: cluster,
      controlPlane,
      workers,
      record: nextRecord(
        cluster,
        record,
        {
          baseImage: config.baseImage,
          images: Object.fromEntries(nodes.map((n) => [n.name, clones[cluster.name][n.name].image.image])),
        },
        knownPatch(cluster, record, rebuilt.has(cluster.name)),
      ),
      loginUser: config.sshUser,
      contexts: config.kubeconfig,
      // Refresh never drops a stopped lab's objects; README "Cleaning up" names this switch.
      forgetUnreachable: process.env.TARTLAB_FORGET_UNREACHABLE === "1",
    });
    const cilium = new CiliumInstall(cluster.name, {
      spec: cluster,
      cluster: kubeadm,
      controlPlaneIp: controlPlane.node.ip,
      controlPlaneConnection: controlPlane.node.connection,
      controlPlaneVm: controlPlane.name,
      nodeNames: nodes.map((n) => n.name),
      nodeIps: Object.fromEntries(nodes.map((n) => [n.name, n.node.ip])),
      vmRuns: Object.fromEntries(nodes.map((n) => [n.name, n.vm.runSpec])),
      version: config.ciliumVersion,
      // After a repair of this cluster's VMs its Ready check runs again.
      repairs: drift.repairs[cluster.name] ?? 0,
      mesh: meshOf(cluster.name),
    });
    const storage = new LocalPathStorage(cluster.name, {
      provider: kubeadm.provider,
      after: [cilium.nodesReady],
      nodeCount: nodes.length,
    });
    return { cluster, nodes, kubeadm, cilium, storage };
  });
  // Each meshed cluster waits for every peer's nodes to be Ready, then for its agents to reach every peer.
  const meshed = clusters.filter((c) => meshCa && meshIps.has(c.cluster.name));
  for (const { cluster, nodes, cilium } of meshed) {
    const peers = meshed.filter((p) => p.cluster.name !== cluster.name);
    new MeshReady(cluster.name, {
      cluster: cluster.name,
      peers: Object.fromEntries(peers.map((p) => [p.cluster.name, p.nodes[0].node.ip])),
      controlPlaneConnection: nodes[0].node.connection,
      controlPlaneVm: nodes[0].name,
      after: [cilium.nodesReady, ...peers.map((p) => p.cilium.nodesReady)],
    });
  }

  const jenkinsHost = clusters.find((c) => c.cluster.name === config.jenkins.cluster);
  const jenkins =
    config.jenkins.enabled && jenkinsHost
      ? new Jenkins(`${jenkinsHost.cluster.name}-jenkins`, {
          provider: jenkinsHost.kubeadm.provider,
          storage: jenkinsHost.storage.defaultStorageClass,
          nodePort: config.jenkins.nodePort,
          nodeIp: jenkinsHost.nodes[0].node.ip,
          retainData: config.jenkins.retainData,
        })
      : undefined;

  return {
    kubeconfigs: Object.fromEntries(
      clusters.map(({ cluster, kubeadm }) => [cluster.name, kubeadm.kubeconfig]),
    ),
    apiServers: Object.fromEntries(clusters.map(({ cluster, kubeadm }) => [cluster.name, kubeadm.apiServer])),
    jenkinsUrl: jenkins?.url,
    jenkinsAdminPassword: jenkins?.adminPassword,
    nodeIps: Object.fromEntries(
      clusters.map(({ cluster, nodes }) => [
        cluster.name,
        Object.fromEntries(nodes.map(({ spec, vm }) => [spec.name, vm.ip])),
      ]),
    ),
  };
}

/**
 * pkgs.k8s.io packaging gaps (lib/package-index.ts): refuse, before any VM is made, a minor whose repository lacks
 * what the nodes install. An index that cannot be read only warns in preview (nothing is installed yet, and
 * preview should work offline) but fails `up`: every node installs from that host through this Mac's network, so
 * a Mac that cannot read it would leave half-built VMs behind a slower, vaguer apt error.
 */
async function checkPackagesPreflight(
  config: LabConfig,
  read: (minor: string) => Promise<string>,
  dryRun: boolean,
): Promise<void> {
  // Every version a cluster may install: the lab's and each cluster's own.
  const versions = [
    ...new Set([config.kubernetesVersion, ...config.clusters.map((c) => c.kubernetesVersion)]),
  ];
  const results = await Promise.all(versions.map((v) => checkKubernetesPackages(v, NODE_ARCH, read)));
  const r = {
    problems: results.flatMap((x) => x.problems),
    unreachable: results.find((x) => x.unreachable !== undefined)?.unreachable,
  };
  if (r.problems.length > 0) {
    throw new pulumi.RunError(
      `package preflight failed; nothing was created:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  if (r.unreachable === undefined) return;
  if (dryRun) {
    pulumi.log.warn(`${r.unreachable}; pulumi up will refuse to start until the index can be read`);
    return;
  }
  throw new pulumi.RunError(
    `package preflight failed; nothing was created: ${r.unreachable}. Every node installs kubelet, kubeadm, ` +
      `kubectl, cri-tools and kubernetes-cni from pkgs.k8s.io through this Mac's network; check it and retry`,
  );
}

/**
 * Deleting a VM that holds local-path volumes (removed, cloned again, or its cluster built anew) is refused unless
 * `tartlab:allowDataLoss` (mac/data-guard.ts decides); in preview as well, so the refusal is seen before `up`.
 * Warnings (a disabled Jenkins' data) are logged.
 */
async function checkDataPreflight(
  lab: Pick<ReturnType<typeof prepareLab>, "config" | "planned">,
  guard: NonNullable<ProgramOptions["dataGuard"]>,
): Promise<void> {
  const r = await guard(lab.config, owner(), lab.planned);
  if (r.problems.length > 0) {
    throw new pulumi.RunError(
      `data preflight failed; nothing was changed:\n${r.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  for (const w of r.warnings) pulumi.log.warn(w);
}

export async function program(opts: ProgramOptions) {
  // Host, config, packages and data are all checked before the drift check: a refused run touches no VM.
  const lab = prepareLab(opts);
  if (opts.packageIndex) {
    await checkPackagesPreflight(lab.config, opts.packageIndex, pulumi.runtime.isDryRun());
  }
  if (opts.dataGuard) await checkDataPreflight(lab, opts.dataGuard);
  let drift = NO_DRIFT;
  if (opts.drift) {
    drift = await opts.drift(lab.config, owner(), pulumi.runtime.isDryRun());
    for (const m of drift.messages) pulumi.log.warn(m);
  }
  return buildLab({ ...lab, drift });
}
