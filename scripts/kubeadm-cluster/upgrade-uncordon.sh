#!/usr/bin/env bash
# KubeadmCluster (root, on the control plane): after a worker's upgrade, wait until its kubelet reports the control
# plane's version, then uncordon it (kubeadm "Upgrading Linux nodes"). Waits under a deadline.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${CONTROL_PLANE_VERSION:?CONTROL_PLANE_VERSION is required (e.g. v1.36.1)}"
: "${KUBELET_WAIT_SECONDS:=180}"
: "${POLL_SECONDS:=3}" # fractions allowed
export KUBECONFIG=/etc/kubernetes/admin.conf

deadline=$((SECONDS + KUBELET_WAIT_SECONDS))
until [ "$(kubectl get node "$WORKER_NAME" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)" = \
  "$CONTROL_PLANE_VERSION" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: $WORKER_NAME's kubelet did not report $CONTROL_PLANE_VERSION within ${KUBELET_WAIT_SECONDS}s;" \
      "it stays cordoned. Check it with: journalctl -u kubelet on $WORKER_NAME" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
if [ "$(kubectl get node "$WORKER_NAME" -o jsonpath='{.spec.unschedulable}')" = true ]; then
  kubectl uncordon "$WORKER_NAME" >&2
fi
echo "tartlab: $WORKER_NAME runs $CONTROL_PLANE_VERSION and is schedulable" >&2
