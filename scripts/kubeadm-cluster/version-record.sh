#!/usr/bin/env bash
# KubeadmCluster (on the Mac): record the version a cluster runs and the version each node was prepared with
# (~/.tartlab/clusters/<cluster>.json, mac/cluster-record.ts), written once its init, joins and upgrades succeeded.
# The program reads it before the graph: to refuse a downgrade or a skipped minor before anything changes, and to
# keep node preparation of existing nodes from re-running for a version change. Bash 3.2 (macOS).
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
: "${RECORD:?RECORD is required (JSON)}"

dir="${TARTLAB_HOME:-$HOME/.tartlab}/clusters"
mkdir -p "$dir"
tmp="$dir/.$CLUSTER_NAME.json.tmp"
printf '%s\n' "$RECORD" >"$tmp"
mv -f "$tmp" "$dir/$CLUSTER_NAME.json"
echo "tartlab: wrote $dir/$CLUSTER_NAME.json" >&2
