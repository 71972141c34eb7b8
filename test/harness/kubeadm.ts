/** Fakes and inputs for the kubeadm-cluster scripts run alone in a sandbox (test/harness/shell.ts). */
import { Sandbox } from "./shell";

/** A fake kubeadm of version v1.35.2 (the scripts ask `kubeadm version -o short` first) that runs `body` for every other command. */
export const fakeKubeadm = (sb: Sandbox, body: string) =>
  sb.fake("kubeadm", `[ "$1 $2" = "version -o" ] && { echo v1.35.2; exit 0; }\n${body}`);

/** What join.sh gets for dev-worker1 joining the control plane at 192.168.64.10, with no pause between retries. */
export const JOIN_ENV: Readonly<Record<string, string>> = {
  NODE_NAME: "dev-worker1",
  JOIN_CONFIG: "kind: JoinConfiguration\n",
  CA_CERT_HASH: `sha256:${"0".repeat(64)}`,
  KUBERNETES_VERSION: "v1.35.2",
  NODE_IP: "192.168.64.11",
  API_SERVER_ENDPOINT: "192.168.64.10:6443",
  RETRY_PAUSE_SECONDS: "0",
};
