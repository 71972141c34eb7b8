#!/usr/bin/env bash
# KubeadmCluster (on the Mac, bash 3.2): written once init, joins and upgrades succeeded, so the program can
# refuse a bad version change and keep existing nodes' preparation from re-running (mac/cluster-record.ts).
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${RECORD:?RECORD is required (JSON)}"

dir="${TARTLAB_HOME:-$HOME/.tartlab}/clusters"
mkdir -p "$dir"
tmp="$dir/.$CLUSTER_NAME.json.tmp"
printf '%s\n' "$RECORD" >"$tmp"
mv -f "$tmp" "$dir/$CLUSTER_NAME.json"
echo "tartlab: wrote $dir/$CLUSTER_NAME.json" >&2
