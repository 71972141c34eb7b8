#!/usr/bin/env bash
# CiliumInstall (root, on the control plane): after a node's address changed, its Cilium agent is restarted once
# the Node object shows the new address. The agent copies the Node's InternalIP into its CiliumNode only when it
# starts and never follows a later change (cilium/cilium #17500, #15406, both open), so until then tunnels to and
# from that node use the old address. A no-op when the CiliumNode already names the
# node's address (every first build, every run where nothing moved) or does not exist (no agent has run there yet).
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${NODE_IP:?NODE_IP is required (the current address of the node)}"
: "${AGENT_WAIT_SECONDS:=300}" # for the Node to show NODE_IP, then again for the new agent to be Ready
: "${POLL_SECONDS:=3}"         # fractions allowed
export KUBECONFIG=/etc/kubernetes/admin.conf

_node_ip() {
  kubectl get node "$NODE_NAME" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}' 2>/dev/null || true
}
# The InternalIP the agent wrote into its CiliumNode; "none" when there is no CiliumNode.
_agent_ip() {
  local out
  if ! out=$(kubectl get ciliumnode "$NODE_NAME" -o jsonpath='{.spec.addresses[?(@.type=="InternalIP")].ip}' 2>&1); then
    case "$out" in *NotFound*) echo none ;; *) echo "?" ;; esac
    return 0
  fi
  printf '%s\n' "$out"
}
_agent_ready() {
  [ "$(kubectl -n kube-system get pods -l k8s-app=cilium --field-selector "spec.nodeName=$NODE_NAME" \
    -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    2>/dev/null || true)" = " True" ]
}

deadline=$((SECONDS + AGENT_WAIT_SECONDS))
until [ "$(_node_ip)" = "$NODE_IP" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: node $NODE_NAME did not show the address $NODE_IP within ${AGENT_WAIT_SECONDS}s (it shows" \
      "\"$(_node_ip)\"); its Cilium agent was not restarted. Check its kubelet: journalctl -u kubelet on $NODE_NAME" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
agent=$(_agent_ip)
if [ "$agent" = none ]; then
  echo "tartlab: no Cilium agent has run on $NODE_NAME yet (no CiliumNode); nothing to restart" >&2
  exit 0
fi
if [ "$agent" = "$NODE_IP" ]; then
  echo "tartlab: the Cilium agent on $NODE_NAME uses its address $NODE_IP; no restart needed" >&2
  exit 0
fi
echo "tartlab: the Cilium agent on $NODE_NAME still uses ${agent:-no address} (node: $NODE_IP); restarting it" >&2
kubectl -n kube-system delete pod -l k8s-app=cilium --field-selector "spec.nodeName=$NODE_NAME" --wait=false >&2
deadline=$((SECONDS + AGENT_WAIT_SECONDS))
until [ "$(_agent_ip)" = "$NODE_IP" ] && _agent_ready; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: the new Cilium agent on $NODE_NAME was not Ready with the address $NODE_IP within" \
      "${AGENT_WAIT_SECONDS}s (its CiliumNode says \"$(_agent_ip)\"). Check it with: kubectl -n kube-system get pods" \
      "-l k8s-app=cilium -o wide; kubectl -n kube-system logs ds/cilium" >&2
    exit 1
  fi
  sleep "$POLL_SECONDS"
done
echo "tartlab: the Cilium agent on $NODE_NAME was restarted and uses $NODE_IP" >&2
