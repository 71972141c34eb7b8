#!/usr/bin/env bash
# KubeadmCluster (on the control plane): wait until a joined worker's Node object exists.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${WAIT_SECONDS:=300}"
: "${POLL_SECONDS:=3}"
: "${KUBECTL_TIMEOUT_SECONDS:=30}"
export KUBECONFIG=/etc/kubernetes/admin.conf

deadline=$((SECONDS + WAIT_SECONDS))
# Each call is bounded too: a hung API server must not hold the wait past its deadline.
until timeout "$KUBECTL_TIMEOUT_SECONDS" kubectl get node "$WORKER_NAME" -o jsonpath='{.metadata.name}' >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: node $WORKER_NAME did not register with the API server within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
echo "tartlab: node $WORKER_NAME is registered" >&2
