#!/usr/bin/env bash
# KubeadmCluster (root, on the control plane): after a worker's upgrade, wait until its kubelet reports the control
# plane's version, then uncordon it (kubeadm "Upgrading Linux nodes"). Waits under a deadline.
set -euo pipefail
: "${WORKER_NAME:?WORKER_NAME is required}"
: "${CONTROL_PLANE_VERSION:?CONTROL_PLANE_VERSION is required (e.g. v1.36.1)}"
: "${KUBELET_WAIT_SECONDS:=180}"
: "${POLL_SECONDS:=3}" # fractions allowed
export KUBECONFIG=/etc/kubernetes/admin.conf

_await_kubelet "$WORKER_NAME" "$CONTROL_PLANE_VERSION"
if [ "$(kubectl get node "$WORKER_NAME" -o jsonpath='{.spec.unschedulable}')" = true ]; then
  kubectl uncordon "$WORKER_NAME" >&2
fi
echo "tartlab: $WORKER_NAME runs $CONTROL_PLANE_VERSION and is schedulable" >&2
