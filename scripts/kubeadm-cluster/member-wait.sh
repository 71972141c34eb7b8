#!/usr/bin/env bash
# KubeadmCluster (on the control plane): wait until a joined worker's Node object exists.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${WAIT_SECONDS:=300}"
export KUBECONFIG=/etc/kubernetes/admin.conf

deadline=$((SECONDS + WAIT_SECONDS))
until kubectl get node "$WORKER_NAME" -o jsonpath='{.metadata.name}' >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: node $WORKER_NAME did not register with the API server within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 3
done
echo "tartlab: node $WORKER_NAME is registered" >&2
