#!/usr/bin/env bash
# KubeadmCluster (on the Mac), on delete: remove the cluster's kubeconfig file. Succeeds when it is gone already.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"
rm -f "${TARTLAB_HOME:-$HOME/.tartlab}/kube/$CLUSTER_NAME.yaml"
