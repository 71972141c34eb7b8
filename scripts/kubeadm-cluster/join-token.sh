#!/usr/bin/env bash
# KubeadmCluster: a fresh bootstrap token for one worker plus the CA public-key hash that pins discovery.
# Output (secret, never logged): "token <t>" and "caCertHash sha256:<hex>" lines.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${TOKEN_TTL:=2h}"
root="${TARTLAB_ROOT:-}"
export KUBECONFIG=/etc/kubernetes/admin.conf

token=$(timeout 60 kubeadm token create --ttl "$TOKEN_TTL" --description "tartlab join of $WORKER_NAME")
hash=$(openssl x509 -pubkey -noout -in "$root/etc/kubernetes/pki/ca.crt" |
  openssl pkey -pubin -outform der |
  openssl dgst -sha256 -hex | sed 's/^.*= *//')
printf 'token %s\ncaCertHash sha256:%s\n' "$token" "$hash"
