#!/usr/bin/env bash
# KubeadmCluster delete (on the Mac, bash 3.2): the kubeconfig file and the tartlab-<cluster> entries go
# whatever tartlab:kubeconfig.merge said, since an earlier merge's entries must not outlive the cluster.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"

rm -f "${TARTLAB_HOME:-$HOME/.tartlab}/kube/$CLUSTER_NAME.yaml"
_kubeconfig_cli remove "$CLUSTER_NAME"
