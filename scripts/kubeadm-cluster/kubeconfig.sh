#!/usr/bin/env bash
# KubeadmCluster: print the admin kubeconfig (the component stores it as a secret and never logs it).
set -euo pipefail
root="${TARTLAB_ROOT:-}"
cat "$root/etc/kubernetes/admin.conf"
