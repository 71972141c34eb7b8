import { stringify } from "yaml";
import { rewriteKubeconfig } from "../../lib/kubeconfig";

/**
 * A kubeadm admin.conf (one cluster, user kubernetes-admin) rewritten for `cluster` as the program does: the lab's
 * kubeconfig that the Mac's kubeconfig step merges; `clientKey` lets a test look for the secret in what leaks.
 */
export function labKubeconfig(
  cluster: string,
  { server = "https://192.168.64.10:6443", clientKey = "S0VZ" }: { server?: string; clientKey?: string } = {},
): string {
  const adminConf = stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "kubernetes", cluster: { server: "https://x:6443", "certificate-authority-data": "Q0E=" } },
    ],
    users: [
      {
        name: "kubernetes-admin",
        user: { "client-certificate-data": "Q0VSVA==", "client-key-data": clientKey },
      },
    ],
    contexts: [
      { name: "kubernetes-admin@kubernetes", context: { cluster: "kubernetes", user: "kubernetes-admin" } },
    ],
    "current-context": "kubernetes-admin@kubernetes",
  });
  return rewriteKubeconfig(adminConf, cluster, server);
}
