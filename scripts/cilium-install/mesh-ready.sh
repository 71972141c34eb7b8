#!/usr/bin/env bash
# CiliumInstall (root, on the control plane of a meshed cluster): waits until every Cilium agent reports every peer
# cluster ready in its ClusterMesh status, and at the deadline names each agent and peer that is not.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${PEERS:?PEERS is required (the other meshed clusters, space-separated)}"
: "${MESH_TIMEOUT_SECONDS:=600}"
: "${POLL_SECONDS:=5}"             # fractions allowed
: "${KUBECTL_TIMEOUT_SECONDS:=30}" # bounds each kubectl call (a hung API server or exec); fractions allowed
export KUBECONFIG=/etc/kubernetes/admin.conf

read -r -a peers <<<"$PEERS"
# Name, ready and status of each remote cluster, one per line: cilium-dbg runs client-go's jsonpath over its status
# model (github.com/cilium/cilium/blob/v1.19.8/pkg/command/output.go), so the node needs no JSON parser; `-` is no
# terminator in that jsonpath (client-go util/jsonpath parser.go isTerminator).
status_path='jsonpath={range .cluster-mesh.clusters[*]}{.name}{"\t"}{.ready}{"\t"}{.status}{"\n"}{end}'

_kubectl() { timeout "$KUBECTL_TIMEOUT_SECONDS" kubectl "$@"; }
# The last line of a command's output, or what a cut-off command left unsaid.
_reason() {
  if [ "$1" -eq 124 ]; then echo "no answer within ${KUBECTL_TIMEOUT_SECONDS}s"; else printf '%s\n' "$2" | tail -n1; fi
}

# One look at every agent: fills `pending` (a line per node and peer not ready) and counts `agents`.
_look() {
  local nodes pods node pod why out rc peer line ready status
  pending=() agents=0
  rc=0
  nodes=$(_kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' 2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    pending+=("cannot list the nodes: $(_reason "$rc" "$nodes")")
    return
  fi
  pods=$(_kubectl -n kube-system get pods -l k8s-app=cilium -o \
    jsonpath='{range .items[*]}{.spec.nodeName}{"\t"}{.metadata.name}{"\t"}{.status.phase}{"\t"}{.metadata.deletionTimestamp}{"\n"}{end}' \
    2>&1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    pending+=("cannot list the Cilium agents: $(_reason "$rc" "$pods")")
    return
  fi
  [ -n "$nodes" ] || pending+=("no nodes are registered")
  for node in $nodes; do
    agents=$((agents + 1))
    why=""
    # A replaced agent's old pod may still be terminating next to the new one: only a running, undeleted pod counts.
    pod=$(awk -F'\t' -v n="$node" '$1 == n && $3 == "Running" && $4 == "" { print $2; exit }' <<<"$pods")
    if [ -z "$pod" ]; then
      # The pod to name: one not being deleted first (the new agent), else a terminating one.
      line=$(awk -F'\t' -v n="$node" '$1 == n { print ($4 != "") "\t" $2 "\t" ($4 == "" ? $3 : "terminating") }' \
        <<<"$pods" | sort -s -n -k1,1 | head -n1 | cut -f2-)
      if [ -z "$line" ]; then
        pod=none why="no Cilium agent pod on the node"
      else
        pod=${line%%$'\t'*} why="the agent pod is ${line#*$'\t'}"
      fi
    else
      rc=0
      out=$(_kubectl -n kube-system exec "$pod" -c cilium-agent -- cilium-dbg status -o "$status_path" 2>&1) || rc=$?
      [ "$rc" -eq 0 ] || why="cilium-dbg status failed: $(_reason "$rc" "$out")"
    fi
    for peer in "${peers[@]}"; do
      if [ -z "$why" ]; then
        line=$(awk -F'\t' -v p="$peer" '$1 == p { print; exit }' <<<"$out")
        if [ -z "$line" ]; then
          pending+=("node $node (agent $pod) -> $peer: not ready (not in the agent's ClusterMesh status)")
          continue
        fi
        IFS=$'\t' read -r _ ready status <<<"$line"
        # Only "true" is ready: the jsonpath runs over the Go model, so a false `ready` prints "false", not nothing.
        if [ "$ready" = true ]; then continue; fi
        pending+=("node $node (agent $pod) -> $peer: not ready (${status:-no status})")
      else
        pending+=("node $node (agent $pod) -> $peer: not ready ($why)")
      fi
    done
  done
}

deadline=$((SECONDS + MESH_TIMEOUT_SECONDS))
while :; do
  _look
  if [ "${#pending[@]}" -eq 0 ]; then
    echo "tartlab: cluster $CLUSTER_NAME: ClusterMesh ready: $agents agents x ${#peers[@]} peers ($PEERS)" >&2
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: cluster $CLUSTER_NAME: ClusterMesh not ready after ${MESH_TIMEOUT_SECONDS}s:" >&2
    for line in "${pending[@]}"; do echo "tartlab: cluster $CLUSTER_NAME: $line" >&2; done
    echo "tartlab: look closer with: kubectl -n kube-system exec <agent> -c cilium-agent --" \
      "cilium-dbg troubleshoot clustermesh" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
