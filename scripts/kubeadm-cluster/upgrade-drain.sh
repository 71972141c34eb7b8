#!/usr/bin/env bash
# KubeadmCluster (root, on the control plane): drains a worker before its upgrade (kubeadm "Upgrading Linux
# nodes"), and a drain that does not finish leaves it cordoned rather than upgrading under running pods.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${CONTROL_PLANE_VERSION:?CONTROL_PLANE_VERSION is required (e.g. v1.36.1)}"
: "${DRAIN_TIMEOUT_SECONDS:=300}"
export KUBECONFIG=/etc/kubernetes/admin.conf

kubelet=$(kubectl get node "$WORKER_NAME" -o jsonpath='{.status.nodeInfo.kubeletVersion}')
if [ "$kubelet" = "$CONTROL_PLANE_VERSION" ]; then
  echo "tartlab: $WORKER_NAME already runs kubelet $kubelet; no drain needed" >&2
  exit 0
fi
echo "tartlab: draining $WORKER_NAME (kubelet $kubelet) for its upgrade to $CONTROL_PLANE_VERSION" >&2
if ! kubectl drain "$WORKER_NAME" --ignore-daemonsets --delete-emptydir-data \
  --timeout="${DRAIN_TIMEOUT_SECONDS}s" >&2; then
  echo "tartlab: drain of $WORKER_NAME did not finish in ${DRAIN_TIMEOUT_SECONDS}s (a PodDisruptionBudget or a" \
    "stuck pod?); it stays cordoned and is not upgraded. Fix the pod, then run pulumi up again" >&2
  exit 1
fi
