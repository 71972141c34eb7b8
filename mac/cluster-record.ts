/**
 * The version record of each cluster on the Mac (~/.tartlab/clusters/<cluster>.json), written by the cluster's
 * `version-record` step once its init, joins and upgrades succeeded (scripts/kubeadm-cluster/version-record.sh),
 * removed when the cluster is destroyed. The program reads it here before registering anything; its shape and parser
 * are lib/cluster-record-format.ts, what it means for a run (refused changes, node versions, the next record)
 * lib/cluster-record-rules.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { tartlabHome } from "./home";
import { ClusterRecord, ClusterRecords, parseClusterRecord } from "../lib/cluster-record-format";
import { LabConfig } from "../lib/lab-config";

/** Where the record of a cluster lives; TARTLAB_HOME (tests) replaces ~/.tartlab as the scripts do. */
export function recordPath(cluster: string, home = tartlabHome()) {
  return path.join(home, "clusters", `${cluster}.json`);
}

/** The records of the configured clusters that have one (a cluster never built has none). */
export function readClusterRecords(config: LabConfig, home?: string): ClusterRecords {
  const out: Record<string, ClusterRecord> = {};
  for (const c of config.clusters) {
    const file = recordPath(c.name, home);
    if (existsSync(file)) out[c.name] = parseClusterRecord(readFileSync(file, "utf8"), file);
  }
  return out;
}
