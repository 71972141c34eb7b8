#!/usr/bin/env bash
# KubeadmCluster (on the Mac): write the cluster's admin kubeconfig to ~/.tartlab/kube/<cluster>.yaml, readable
# only by the user (V10: the host gets a kubeconfig per cluster). Use: KUBECONFIG=~/.tartlab/kube/dev.yaml kubectl …
# Runs under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"

dir="${TARTLAB_HOME:-$HOME/.tartlab}/kube"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
tmp="$dir/.$CLUSTER_NAME.yaml.tmp"
printf '%s\n' "$KUBECONFIG_CONTENT" >"$tmp"
mv -f "$tmp" "$dir/$CLUSTER_NAME.yaml"
echo "tartlab: wrote $dir/$CLUSTER_NAME.yaml" >&2
