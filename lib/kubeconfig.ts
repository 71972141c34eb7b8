/**
 * Admin kubeconfig rewrite. Every kubeadm admin.conf names its user `kubernetes-admin` (kubernetes/kubeadm#416),
 * so merged kubeconfigs clobber each other; like kind, name cluster, user and context all `tartlab-<cluster>` and point
 * the server at the control plane's IP.
 */
import { createHash } from "node:crypto";
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

/**
 * Identity of a cluster: a hash of its CA certificate. Used as the k8s.Provider's clusterIdentifier, so a rebuilt
 * control plane (new CA) replaces the provider and with it every Kubernetes resource created through it.
 */
export function clusterIdentity(kubeconfig: string): string {
  const ca = parse(kubeconfig)?.clusters?.[0]?.cluster?.["certificate-authority-data"];
  if (typeof ca !== "string" || ca === "") throw new Error("kubeconfig has no certificate-authority-data");
  return `ca-sha256:${createHash("sha256").update(ca).digest("hex")}`;
}
