#!/usr/bin/env bash
# KubeadmCluster (on the Mac), on delete: remove the cluster's kubeconfig file and exactly its tartlab-<cluster>
# cluster, user and context from the user's kubeconfig (ops/kubeconfig.ts, under kind's <file>.lock), whatever
# tartlab:kubeconfig.merge said: entries an earlier merge left must not outlive the cluster. Succeeds when they
# are gone already. Runs under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"

rm -f "${TARTLAB_HOME:-$HOME/.tartlab}/kube/$CLUSTER_NAME.yaml"
_kubeconfig_cli remove "$CLUSTER_NAME"
