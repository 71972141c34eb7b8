#!/usr/bin/env bash
# KubeadmCluster: a fresh bootstrap token for one worker plus the CA public-key hash that pins discovery.
# Output (secret, never logged): "token <t>" and "caCertHash sha256:<hex>" lines.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${TOKEN_TTL:=2h}"
: "${TOKEN_TIMEOUT_SECONDS:=60}"
root="${TARTLAB_ROOT:-}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if ! token=$(timeout "$TOKEN_TIMEOUT_SECONDS" kubeadm token create --ttl "$TOKEN_TTL" \
  --description "tartlab join of $WORKER_NAME"); then
  echo "tartlab: kubeadm token create for $WORKER_NAME failed or took over ${TOKEN_TIMEOUT_SECONDS}s" >&2
  exit 1
fi
# Bootstrap token format (kubeadm: [a-z0-9]{6}.[a-z0-9]{16}); anything else would make a join fail much later.
if ! [[ "$token" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]]; then
  echo "tartlab: kubeadm token create for $WORKER_NAME printed no bootstrap token (expected [a-z0-9]{6}.[a-z0-9]{16})" >&2
  exit 1
fi
ca="$root/etc/kubernetes/pki/ca.crt"
hash=$(openssl x509 -pubkey -noout -in "$ca" 2>/dev/null |
  openssl pkey -pubin -outform der 2>/dev/null |
  openssl dgst -sha256 -hex | sed 's/^.*= *//') || hash=""
if ! [[ "$hash" =~ ^[0-9a-f]{64}$ ]]; then
  echo "tartlab: cannot hash the cluster CA public key from /etc/kubernetes/pki/ca.crt (missing or not a certificate)" >&2
  exit 1
fi
printf 'token %s\ncaCertHash sha256:%s\n' "$token" "$hash"
