/**
 * Reads the cluster records the `version-record` step writes (scripts/kubeadm-cluster/version-record.sh)
 * before anything is registered; their shape is lib/cluster-record-format.ts, their meaning
 * lib/cluster-record-rules.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { tartlabHome } from "./home";
import { ClusterRecord, ClusterRecords, parseClusterRecord } from "../lib/cluster-record-format";
import { LabConfig } from "../lib/lab-config";

/** TARTLAB_HOME replaces ~/.tartlab in tests, as in the scripts. */
export function recordPath(cluster: string, home = tartlabHome()) {
  return path.join(home, "clusters", `${cluster}.json`);
}

/** A cluster never built has none. */
export function readClusterRecords(config: LabConfig, home?: string): ClusterRecords {
  const out: Record<string, ClusterRecord> = {};
  for (const c of config.clusters) {
    const file = recordPath(c.name, home);
    if (existsSync(file)) out[c.name] = parseClusterRecord(readFileSync(file, "utf8"), file);
  }
  return out;
}
