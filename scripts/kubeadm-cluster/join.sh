#!/usr/bin/env bash
# KubeadmCluster: `kubeadm join` a worker from a generated v1beta4 JoinConfiguration (secret: holds the token).
# Idempotent: a node already joined to THIS cluster (same CA) is left alone; one joined to another cluster (its
# control plane was rebuilt) is reset and joined again. Each attempt has a timeout; bounded retries.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${JOIN_CONFIG:?JOIN_CONFIG is required}"
: "${CA_CERT_HASH:?CA_CERT_HASH is required (sha256:<hex> of the cluster CA public key)}"
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required (kubeadm version of the control plane, e.g. v1.35.2)}"
: "${JOIN_TIMEOUT_SECONDS:=300}"
: "${JOIN_ATTEMPTS:=3}"
: "${RETRY_PAUSE_SECONDS:=10}"
root="${TARTLAB_ROOT:-}"

# sha256 of the DER public key of a CA certificate, as kubeadm's --discovery-token-ca-cert-hash has it.
_ca_hash() {
  openssl x509 -pubkey -noout -in "$1" | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex |
    sed 's/^.*= *//'
}

if [ -f "$root/etc/kubernetes/kubelet.conf" ]; then
  current="sha256:$(_ca_hash "$root/etc/kubernetes/pki/ca.crt" 2>/dev/null || true)"
  if [ "$current" = "$CA_CERT_HASH" ]; then
    echo "tartlab: $NODE_NAME has already joined this cluster; not joining again" >&2
    exit 0
  fi
  echo "tartlab: $NODE_NAME belongs to another cluster (CA $current); resetting it to join this one" >&2
  kubeadm reset -f >/dev/null 2>&1 || true
fi
# A worker joins with the control plane's exact version: with a bare minor, a node prepared later can have got a
# newer patch of that minor.
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
