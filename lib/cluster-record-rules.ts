/**
 * What the clusters' version records mean for a run before anything is registered: the changes it refuses,
 * the version each existing node's preparation keeps so that a version change runs only the upgrade steps,
 * and the record it writes.
 */
import { ClusterRecord, ClusterRecords } from "./cluster-record-format";
import { compareVersions, minorOf, patchOf } from "./kube-version";
import { ClusterSpec, LabConfig, NS } from "./lab-config";

/**
 * kubeadm upgrades one minor at a time and tartlab one cluster at a time; each problem names the key, the
 * value, the running version (with `recordFile`) and the fix.
 */
export function versionChangeProblems(
  config: LabConfig,
  records: ClusterRecords,
  recordFile: (cluster: string) => string,
): string[] {
  const problems: string[] = [];
  const minorChanges: ClusterSpec[] = [];
  for (const c of config.clusters) {
    const r = records[c.name];
    if (!r) continue;
    const want = c.kubernetesVersion;
    const have = r.kubernetesVersion;
    const where = `cluster ${c.name} runs ${have} (recorded in ${recordFile(c.name)})`;
    const value = `${c.kubernetesVersionKey} "${want}"`;
    const [wm, hm] = [minorOf(want), minorOf(have)];
    if (compareVersions(want, have) < 0) {
      problems.push(
        `${value}: ${where}; kubeadm cannot downgrade a cluster. Set ${c.kubernetesVersionKey} back to "${have}" ` +
          `(or destroy and rebuild the cluster at "${want}")`,
      );
    } else if (wm > hm + 1) {
      problems.push(
        `${value}: ${where}; kubeadm upgrades one minor at a time. Set ${c.kubernetesVersionKey} to ` +
          `"1.${hm + 1}", run pulumi up, then go on to "${want}"`,
      );
    } else if (wm !== hm) minorChanges.push(c);
  }
  if (minorChanges.length > 1) {
    problems.push(
      `${minorChanges.map((c) => `${c.kubernetesVersionKey} "${c.kubernetesVersion}"`).join(", ")} would ` +
        `upgrade clusters ${minorChanges.map((c) => c.name).join(", ")} in one run; tartlab upgrades one cluster ` +
        `at a time. Set one cluster's own kubernetesVersion (the others keep the version they run), ` +
        `run pulumi up, then the next`,
    );
  }
  return problems;
}

/**
 * A node keeps the version it was created with, and one added later installs the control plane's exact patch;
 * a bare-minor node takes the exact patch once the config names it (join.sh's advice).
 */
export function nodeVersion(cluster: ClusterSpec, node: string, record: ClusterRecord | undefined): string {
  const want = cluster.kubernetesVersion;
  const recorded = record?.nodes[node];
  if (recorded !== undefined) {
    const pinned =
      patchOf(recorded) === undefined && want === record?.patch && minorOf(recorded) === minorOf(want);
    return pinned ? want : recorded;
  }
  if (!record) return want;
  if (record.patch !== undefined) return record.patch;
  // A record without a patch: the configured exact patch of the minor the cluster runs.
  const exact = patchOf(want) !== undefined && minorOf(want) === minorOf(record.kubernetesVersion);
  return exact ? want : record.kubernetesVersion;
}

/**
 * Known only for a configured exact version, or a recorded patch on an unchanged minor of a cluster not built
 * anew; otherwise the upgrade step prints it.
 */
export function knownPatch(
  cluster: ClusterSpec,
  record: ClusterRecord | undefined,
  rebuilt: boolean,
): string | undefined {
  const want = cluster.kubernetesVersion;
  if (patchOf(want) !== undefined) return want;
  if (!record || rebuilt || record.patch === undefined) return undefined;
  return minorOf(record.patch) === minorOf(want) ? record.patch : undefined;
}

export function nextRecord(
  cluster: ClusterSpec,
  record: ClusterRecord | undefined,
  clones: { readonly baseImage: string; readonly images: Readonly<Record<string, string>> },
  patch?: string,
): ClusterRecord {
  return {
    kubernetesVersion: cluster.kubernetesVersion,
    nodes: Object.fromEntries(cluster.nodes.map((n) => [n.name, nodeVersion(cluster, n.name, record)])),
    baseImage: clones.baseImage,
    images: Object.fromEntries(cluster.nodes.map((n) => [n.name, clones.images[n.name]])),
    podCidr: cluster.podCidr,
    serviceCidr: cluster.serviceCidr,
    ...(patch === undefined ? {} : { patch }),
  };
}

/**
 * kubeadm never changes the ranges init set (and Cilium warns against changing a running cluster-pool), and
 * without workers the control plane kubeadm tainted at init runs no workload.
 */
export function clusterChangeProblems(
  config: LabConfig,
  records: ClusterRecords,
  rebuilt: ReadonlySet<string>,
  recordFile: (cluster: string) => string,
): string[] {
  const problems: string[] = [];
  const rebuild =
    `rebuild the cluster: remove it from ${NS}:clusters, run pulumi up (its VMs and their data are deleted), ` +
    `then add it back`;
  config.clusters.forEach((c) => {
    const r = records[c.name];
    if (!r || rebuilt.has(c.name)) return;
    const where = `cluster ${c.name} was built with`;
    const file = `(recorded in ${recordFile(c.name)})`;
    for (const [key, why] of [
      [
        "podCidr",
        "kubeadm init set it and Cilium hands each node a range of it; Cilium's docs warn against changing the pool of a running cluster",
      ],
      [
        "serviceCidr",
        "kubeadm init set it (the API server's certificate and Service addresses) and never changes it",
      ],
    ] as const) {
      const had = r[key];
      if (had === undefined || had === c[key]) continue;
      problems.push(
        `cluster "${c.name}" ${key} "${c[key]}": ${where} "${had}" ${file}; ${why}. Set it back to "${had}", or ` +
          `${rebuild} with the new range`,
      );
    }
    const cp = c.nodes[0].name;
    const hadWorkers = Object.keys(r.nodes).filter((n) => n !== cp);
    if (hadWorkers.length > 0 && c.nodes.length === 1) {
      problems.push(
        `cluster "${c.name}" nodes: removing ${hadWorkers.join(", ")} leaves cluster ${c.name} without workers, ` +
          `but kubeadm tainted its control plane ${cp} at init (the cluster had workers), so every workload ` +
          `without a toleration would stay Pending. Keep a worker, or ${rebuild} without workers`,
      );
    }
  });
  return problems;
}
