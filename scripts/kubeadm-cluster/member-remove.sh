#!/usr/bin/env bash
# KubeadmCluster (on the control plane), on delete: drain a worker and remove its Node object.
# Succeeds when the node is already gone; drain has a timeout and never blocks the destroy forever.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${DRAIN_TIMEOUT_SECONDS:=180}"
export KUBECONFIG=/etc/kubernetes/admin.conf

if ! kubectl get node "$WORKER_NAME" -o jsonpath='{.metadata.name}' >/dev/null 2>&1; then
  echo "tartlab: node $WORKER_NAME is not in the cluster; nothing to drain" >&2
  exit 0
fi
kubectl drain "$WORKER_NAME" --ignore-daemonsets --delete-emptydir-data --force \
  --timeout="${DRAIN_TIMEOUT_SECONDS}s" >&2 ||
  echo "tartlab: WARNING: drain of $WORKER_NAME did not finish in ${DRAIN_TIMEOUT_SECONDS}s; removing it anyway" >&2
kubectl delete node "$WORKER_NAME" --ignore-not-found --timeout=60s >&2
echo "tartlab: node $WORKER_NAME removed from the cluster" >&2
