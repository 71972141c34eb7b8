/**
 * kubeadm config files, API kubeadm.k8s.io/v1beta4 (kubeadm's v1beta4 types.go and
 * kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4).
 */
import { stringify } from "yaml";

export const API_SERVER_PORT = 6443;
const CRI_SOCKET = "unix:///run/containerd/containerd.sock";

export interface InitConfigInput {
  readonly clusterName: string;
  readonly nodeName: string;
  /** Advertise address, kubelet node-ip and API endpoint (V08). */
  readonly nodeIp: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
  /** Without it kubeadm resolves `stable-1` online and may run a newer patch than the installed kubelet. */
  readonly kubernetesVersion: string;
  /**
   * Without workers the control plane must run workloads; in v1beta4 unset `taints` means the default
   * NoSchedule taint and `[]` none.
   */
  readonly untaintControlPlane: boolean;
}

export function initConfig(i: InitConfigInput): string {
  const kubernetesVersion = parseKubeadmVersion(i.kubernetesVersion);
  const nodeIpArg = [{ name: "node-ip", value: i.nodeIp }];
  const init = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "InitConfiguration",
    localAPIEndpoint: { advertiseAddress: i.nodeIp, bindPort: API_SERVER_PORT },
    nodeRegistration: {
      name: i.nodeName,
      criSocket: CRI_SOCKET,
      kubeletExtraArgs: nodeIpArg,
      ...(i.untaintControlPlane ? { taints: [] } : {}),
    },
    timeouts: { controlPlaneComponentHealthCheck: "4m0s", kubeletHealthCheck: "4m0s" },
  };
  const cluster = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    clusterName: i.clusterName,
    kubernetesVersion,
    controlPlaneEndpoint: `${i.nodeIp}:${API_SERVER_PORT}`,
    networking: { podSubnet: i.podCidr, serviceSubnet: i.serviceCidr, dnsDomain: "cluster.local" },
    // The kubeadm-config ConfigMap keeps kube-proxy off across `kubeadm upgrade` too (T04).
    proxy: { disabled: true },
    apiServer: { certSANs: [i.nodeIp, "127.0.0.1"] },
  };
  const kubelet = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
  };
  return [init, cluster, kubelet].map((d) => stringify(d)).join("---\n");
}

export interface JoinConfigInput {
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly controlPlaneIp: string;
  readonly token: string;
  readonly caCertHash: string;
}

/** Explicit node-ip (V08) and discovery pinned to the cluster CA. */
export function joinConfig(j: JoinConfigInput): string {
  return stringify({
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "JoinConfiguration",
    nodeRegistration: {
      name: j.nodeName,
      criSocket: CRI_SOCKET,
      kubeletExtraArgs: [{ name: "node-ip", value: j.nodeIp }],
    },
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: `${j.controlPlaneIp}:${API_SERVER_PORT}`,
        token: j.token,
        caCertHashes: [j.caCertHash],
      },
    },
    timeouts: { discovery: "5m0s", tlsBootstrap: "5m0s" },
  });
}

/** Anything but `kubeadm version -o short`'s "v1.35.2" is refused rather than passed to kubeadm. */
export function parseKubeadmVersion(stdout: string): string {
  const version = stdout.trim();
  if (!/^v\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(
      `expected an exact kubeadm version like v1.35.2 from the node's readiness step, got ${JSON.stringify(version)}`,
    );
  }
  return version;
}

export function parseJoinToken(stdout: string): { token: string; caCertHash: string } {
  const token = /^token ([a-z0-9]{6}\.[a-z0-9]{16})$/m.exec(stdout)?.[1];
  const caCertHash = /^caCertHash (sha256:[0-9a-f]{64})$/m.exec(stdout)?.[1];
  if (!token || !caCertHash) throw new Error("join-token.sh printed no token/caCertHash lines");
  return { token, caCertHash };
}
