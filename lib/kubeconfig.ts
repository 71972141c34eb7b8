/**
 * Every admin.conf names its user `kubernetes-admin` (kubernetes/kubeadm#416), so merged kubeconfigs clobber
 * each other; like kind, everything is named `tartlab-<cluster>`.
 */
import { parse, stringify } from "yaml";

export const contextName = (cluster: string) => `tartlab-${cluster}`;

export function rewriteKubeconfig(adminConf: string, cluster: string, server: string): string {
  const doc = parse(adminConf);
  if (!doc || !Array.isArray(doc.clusters) || !Array.isArray(doc.users) || doc.clusters.length !== 1) {
    throw new Error("admin.conf is not a kubeadm kubeconfig with one cluster and one user");
  }
  const name = contextName(cluster);
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { ...doc.clusters[0].cluster, server } }],
    users: [{ name, user: doc.users[0].user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    preferences: {},
  });
}
