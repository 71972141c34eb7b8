#!/usr/bin/env bash
# KubeadmCluster worker join from a v1beta4 JoinConfiguration (secret: it holds the token): a node joined to
# this cluster's CA is left alone, one joined to a rebuilt control plane is reset and joined again, and a
# changed address is re-pointed in place.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${JOIN_CONFIG:?JOIN_CONFIG is required}"
: "${CA_CERT_HASH:?CA_CERT_HASH is required (sha256:<hex> of the cluster CA public key)}"
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required (kubeadm version of the control plane, e.g. v1.35.2)}"
: "${NODE_IP:?NODE_IP is required (the address of this worker: its kubelet --node-ip)}"
: "${API_SERVER_ENDPOINT:?API_SERVER_ENDPOINT is required (ip:port of the control plane, e.g. 192.168.64.10:6443)}"
: "${KUBELET_WAIT_SECONDS:=120}"
: "${KUBECTL_TIMEOUT_SECONDS:=30}"
: "${POLL_SECONDS:=5}"
: "${JOIN_TIMEOUT_SECONDS:=300}"
: "${JOIN_ATTEMPTS:=3}"
: "${RETRY_PAUSE_SECONDS:=10}"
root="${TARTLAB_ROOT:-}"

# As kubeadm's --discovery-token-ca-cert-hash has it.
_ca_hash() {
  openssl x509 -pubkey -noout -in "$1" | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex |
    sed 's/^.*= *//'
}

# kubelet reads kubelet.conf's server and kubeadm-flags.env's --node-ip (kubeadm WriteKubeletDynamicEnvFile)
# only at start, and its client certificate names no address, so nothing else changes.
_repoint() {
  local conf=/etc/kubernetes/kubelet.conf flags="$root/var/lib/kubelet/kubeadm-flags.env" server node_ip cluster
  local want="https://$API_SERVER_ENDPOINT" changed=()
  server=$(kubectl config view --kubeconfig="$conf" -o jsonpath='{.clusters[0].cluster.server}')
  node_ip=$(grep -o -- '--node-ip=[^" ]*' "$flags" 2>/dev/null | head -n1 | cut -d= -f2 || true)
  if [ "$server" = "$want" ] && [ "$node_ip" = "$NODE_IP" ]; then
    echo "tartlab: $NODE_NAME has already joined this cluster; not joining again" >&2
    return 0
  fi
  if [ "$server" != "$want" ]; then
    cluster=$(kubectl config view --kubeconfig="$conf" -o jsonpath='{.clusters[0].name}')
    kubectl config set-cluster "$cluster" --server="$want" --kubeconfig="$conf" >/dev/null
    changed+=("kubelet.conf server $server -> $want")
  fi
  if [ "$node_ip" != "$NODE_IP" ]; then
    if [ -n "$node_ip" ]; then
      sed -i "s/--node-ip=${node_ip//./\\.}\([\" ]\)/--node-ip=$NODE_IP\1/" "$flags"
    else
      mkdir -p "$(dirname "$flags")"
      [ -f "$flags" ] || echo 'KUBELET_KUBEADM_ARGS=""' >"$flags"
      sed -i "s/^KUBELET_KUBEADM_ARGS=\"/&--node-ip=$NODE_IP /" "$flags"
    fi
    changed+=("kubelet --node-ip ${node_ip:-unset} -> $NODE_IP")
  fi
  systemctl restart kubelet
  # /readyz is readable by every authenticated user (ClusterRole system:public-info-viewer), so kubelet's own
  # credentials prove the new endpoint.
  local deadline=$((SECONDS + KUBELET_WAIT_SECONDS)) err=""
  until systemctl is-active --quiet kubelet &&
    err=$(timeout "$KUBECTL_TIMEOUT_SECONDS" kubectl --kubeconfig="$conf" get --raw=/readyz 2>&1 >/dev/null); do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "tartlab: $NODE_NAME was re-pointed (${changed[*]}), but within ${KUBELET_WAIT_SECONDS}s kubelet did not" \
        "run and reach the API server at $want (kubectl get --raw=/readyz with $conf); last error: ${err:-kubelet not active}" >&2
      exit 1
    fi
    sleep "$POLL_SECONDS"
  done
  echo "tartlab: $NODE_NAME has joined this cluster and was re-pointed: ${changed[*]}; kubelet restarted" >&2
}

if [ -f "$root/etc/kubernetes/kubelet.conf" ]; then
  current="sha256:$(_ca_hash "$root/etc/kubernetes/pki/ca.crt" 2>/dev/null || true)"
  if [ "$current" = "$CA_CERT_HASH" ]; then
    # It holds the bootstrap token.
    rm -f "$root/etc/tartlab/kubeadm-join.yaml"
    _repoint
    exit 0
  fi
  echo "tartlab: $NODE_NAME belongs to another cluster (CA $current); resetting it to join this one" >&2
  kubeadm reset -f >/dev/null 2>&1 || true
fi
# With a bare minor, a node prepared later can have got a newer patch of that minor.
have=$(kubeadm version -o short)
if [ "$have" != "$KUBERNETES_VERSION" ]; then
  echo "tartlab: $NODE_NAME has kubeadm $have but the control plane runs $KUBERNETES_VERSION; refusing to join." \
    "Set tartlab:kubernetesVersion to \"${KUBERNETES_VERSION#v}\" (an exact patch) so every node installs it" >&2
  exit 1
fi
mkdir -p "$root/etc/tartlab"
umask 077
printf '%s\n' "$JOIN_CONFIG" >"$root/etc/tartlab/kubeadm-join.yaml"
log="$root/var/log/tartlab-kubeadm-join.log"
attempt=1
until timeout "$JOIN_TIMEOUT_SECONDS" kubeadm join --config /etc/tartlab/kubeadm-join.yaml >"$log" 2>&1; do
  if [ "$attempt" -ge "$JOIN_ATTEMPTS" ]; then
    echo "tartlab: $NODE_NAME could not join: $JOIN_ATTEMPTS attempts of up to ${JOIN_TIMEOUT_SECONDS}s each" \
      "waiting for kubeadm join (API server discovery + kubelet TLS bootstrap) failed (V09). Last lines of $log:" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
  echo "tartlab: kubeadm join on $NODE_NAME failed (attempt $attempt of $JOIN_ATTEMPTS); resetting and retrying" >&2
  kubeadm reset -f >/dev/null 2>&1 || true
  sleep "$RETRY_PAUSE_SECONDS"
  attempt=$((attempt + 1))
done
rm -f "$root/etc/tartlab/kubeadm-join.yaml"
echo "tartlab: $NODE_NAME joined" >&2
