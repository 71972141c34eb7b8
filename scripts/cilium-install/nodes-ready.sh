#!/usr/bin/env bash
# CiliumInstall gate (on the control plane): every expected node is Ready. Readiness comes from the API
# (`kubectl wait` on each named node), never from counting lines of output (T05).
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${EXPECTED_NODES:?EXPECTED_NODES is required (space-separated node names)}"
: "${READY_TIMEOUT_SECONDS:=600}"
: "${POLL_SECONDS:=5}"
: "${KUBECTL_GRACE_SECONDS:=10}" # how long a kubectl wait may run past its --timeout; > 0, fractions allowed
export KUBECONFIG=/etc/kubernetes/admin.conf

read -r -a nodes <<<"$EXPECTED_NODES"
targets=()
for n in "${nodes[@]}"; do targets+=("node/$n"); done

deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
while :; do
  # Never negative: kubectl wait reads a negative --timeout as a week; 0 means check once.
  left=$((deadline - SECONDS))
  [ "$left" -ge 0 ] || left=0
  # kubectl wait fails at once for a node that is not registered yet, so retry until the deadline.
  # kubectl's own --timeout bounds the wait; the outer timeout bounds a hung API connection.
  outer=$(awk -v l="$left" -v g="$KUBECTL_GRACE_SECONDS" 'BEGIN { print l + g }')
  if timeout "$outer" kubectl wait --for=condition=Ready --timeout="${left}s" "${targets[@]}" >&2; then
    echo "tartlab: cluster $CLUSTER_NAME: all ${#nodes[@]} nodes Ready" >&2
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: cluster $CLUSTER_NAME: nodes not all Ready after ${READY_TIMEOUT_SECONDS}s (waited for: $EXPECTED_NODES)" >&2
    kubectl get nodes -o wide >&2 || true
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
