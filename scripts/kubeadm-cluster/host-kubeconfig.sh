#!/usr/bin/env bash
# KubeadmCluster on the Mac (bash 3.2): V10, the cluster's kubeconfig as ~/.tartlab/kube/<cluster>.yaml
# (user-only), then kind-style its context in the user's kubeconfig through ops/kubeconfig.ts, fed on stdin
# since `ps` shows argv and it holds the admin key; KUBECONFIG_MERGE=false removes what an earlier merge left.
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
