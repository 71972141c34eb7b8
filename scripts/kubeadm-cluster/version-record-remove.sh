#!/usr/bin/env bash
# KubeadmCluster (on the Mac), on delete: remove the cluster's version record. Succeeds when it is gone already.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
rm -f "${TARTLAB_HOME:-$HOME/.tartlab}/clusters/$CLUSTER_NAME.json"
