#!/usr/bin/env bash
# KubeadmCluster (on the Mac): write the cluster's admin kubeconfig to ~/.tartlab/kube/<cluster>.yaml, readable
# only by the user (V10: the host gets a kubeconfig per cluster). Use: KUBECONFIG=~/.tartlab/kube/dev.yaml kubectl …
# Then, kind-style, merge its context tartlab-<cluster> into the user's kubeconfig (first path of
# $KUBECONFIG, else ~/.kube/config) with ops/kubeconfig.ts, under kind's <file>.lock; with KUBECONFIG_MERGE=false
# (tartlab:kubeconfig.merge false) the file is all, and entries an earlier merge left are removed again.
# The kubeconfig reaches the merge on stdin, never in argv (`ps` shows argv; it holds the admin client key).
# Runs under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${KUBECONFIG_CONTENT:?KUBECONFIG_CONTENT is required}"
: "${KUBECONFIG_MERGE:?KUBECONFIG_MERGE is required}"
: "${SET_CURRENT_CONTEXT:?SET_CURRENT_CONTEXT is required}"

dir="${TARTLAB_HOME:-$HOME/.tartlab}/kube"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
tmp="$dir/.$CLUSTER_NAME.yaml.tmp"
printf '%s\n' "$KUBECONFIG_CONTENT" >"$tmp"
mv -f "$tmp" "$dir/$CLUSTER_NAME.yaml"
echo "tartlab: wrote $dir/$CLUSTER_NAME.yaml" >&2

case "$KUBECONFIG_MERGE" in
  true)
    set -- merge "$CLUSTER_NAME"
    if [ "$SET_CURRENT_CONTEXT" = true ]; then set -- "$@" --set-current; fi
    if ! printf '%s\n' "$KUBECONFIG_CONTENT" | _kubeconfig_cli "$@"; then
      echo "tartlab: could not merge context tartlab-$CLUSTER_NAME into your kubeconfig (see above); to keep the file only, set tartlab:kubeconfig.merge false" >&2
      exit 1
    fi
    ;;
  false) _kubeconfig_cli remove "$CLUSTER_NAME" ;;
  *)
    echo "tartlab: KUBECONFIG_MERGE must be true or false, got \"$KUBECONFIG_MERGE\"" >&2
    exit 1
    ;;
esac
