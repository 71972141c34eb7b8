/**
 * Cluster `c` on K8sNodes at fixed addresses, for the tests of one component above K8sNode (KubeadmCluster,
 * CiliumInstall): fixed addresses let a test say exactly where each step runs.
 */
import * as pulumi from "@pulumi/pulumi";
import { K8sNode } from "../../components/k8s-node";
import { ClusterMember } from "../../components/kubeadm-cluster";
import { ClusterSpec } from "../../lib/lab-config";

export const C_IPS: Readonly<Record<string, string>> = {
  "c-master": "192.168.64.10",
  "c-worker1": "192.168.64.11",
  "c-worker2": "192.168.64.12",
};

/** Cluster `c`'s spec with `nodes` (the first its control plane), each VM with the default lab's size. */
export const cSpec = (nodes: readonly string[]): ClusterSpec => ({
  name: "c",
  id: 7,
  podCidr: "10.20.0.0/16",
  serviceCidr: "10.97.0.0/16",
  nodes: nodes.map((name, i) => ({
    name,
    role: i === 0 ? "control-plane" : "worker",
    cpus: 2,
    memoryMb: 4096,
    diskGb: 25,
  })),
  kubernetesVersion: "1.35",
  kubernetesVersionKey: "tartlab:kubernetesVersion",
});

/**
 * A K8sNode per name in `nodes` at C_IPS (each VM's id `<vm>-vm`), the first as control plane, each prepared at
 * `versions[name]` (default 1.35); registers resources, so call it inside the evaluated program.
 */
export function cMembers(
  nodes: readonly string[],
  versions: Readonly<Record<string, string>> = {},
): { cp: ClusterMember; workers: ClusterMember[] } {
  const [cp, ...workers] = nodes.map((name) => ({
    name,
    node: new K8sNode(name, {
      ip: C_IPS[name],
      vmId: `${name}-vm`,
      kubernetesVersion: versions[name] ?? "1.35",
      ssh: { user: "admin", secrets: { sshPassword: pulumi.secret("admin") } },
    }),
  }));
  return { cp, workers };
}
