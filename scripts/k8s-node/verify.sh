#!/usr/bin/env bash
# K8sNode step 3 (root, on the VM): prove the node is ready for kubeadm before any cluster uses it (T02).
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${K8S_MINOR:?K8S_MINOR is required}"
: "${K8S_PATCH:=}"
root="${TARTLAB_ROOT:-}"

missing=()
for tool in kubeadm kubelet kubectl containerd crictl conntrack socat ethtool ip iptables mount nsenter; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "tartlab: node $NODE_NAME is missing ${missing[*]} on PATH; kubeadm preflight would fail (T02)" >&2
  exit 1
fi
if [ "$(cat "$root/proc/sys/net/ipv4/ip_forward")" != 1 ]; then
  echo "tartlab: node $NODE_NAME has net.ipv4.ip_forward != 1" >&2
  exit 1
fi
if [ -n "$(swapon --noheadings --show)" ]; then
  echo "tartlab: node $NODE_NAME still has swap on" >&2
  exit 1
fi
# The exact version printed here becomes ClusterConfiguration.kubernetesVersion (components/kubeadm-cluster.ts).
version=$(kubeadm version -o short)
if [ -n "$K8S_PATCH" ]; then expected="v$K8S_PATCH"; else expected="v${K8S_MINOR}.*"; fi
# shellcheck disable=SC2053 # $expected is a pattern on purpose (v1.35.* for a bare minor)
if [[ "$version" != $expected ]] || [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "tartlab: node $NODE_NAME has kubeadm $version, expected $expected" >&2
  exit 1
fi
systemctl is-active --quiet containerd || {
  echo "tartlab: node $NODE_NAME: containerd is not running" >&2
  exit 1
}
echo "tartlab: node $NODE_NAME ready for kubeadm ($version)" >&2
printf '%s\n' "$version"
