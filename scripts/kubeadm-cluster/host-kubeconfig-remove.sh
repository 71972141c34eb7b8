#!/usr/bin/env bash
# KubeadmCluster (on the Mac), on delete: remove the cluster's kubeconfig file and exactly its tartlab-<cluster>
# cluster, user and context from the user's kubeconfig (ops/kubeconfig.ts, under kind's <file>.lock), whatever
# tartlab:kubeconfig.merge said: entries an earlier merge left must not outlive the cluster. Succeeds when they
# are gone already. Runs under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${CLUSTER_NAME:?CLUSTER_NAME is required}"

# As in host-kubeconfig.sh: the project passed in, else the provider's working directory (where pulumi runs).
_kubeconfig_cli() {
  local dir
  for dir in "${TARTLAB_PROJECT_DIR:-}" "$PWD"; do
    if [ -n "$dir" ] && [ -f "$dir/ops/kubeconfig.ts" ]; then
      (
        unset KUBECONFIG_CONTENT
        cd "$dir"
        exec node --import tsx ops/kubeconfig.ts "$@"
      )
      return
    fi
  done
  echo "tartlab: cannot find ops/kubeconfig.ts in ${TARTLAB_PROJECT_DIR:-(unset)} or $PWD; run pulumi in the tartlab project directory" >&2
  return 1
}

rm -f "${TARTLAB_HOME:-$HOME/.tartlab}/kube/$CLUSTER_NAME.yaml"
_kubeconfig_cli remove "$CLUSTER_NAME"
