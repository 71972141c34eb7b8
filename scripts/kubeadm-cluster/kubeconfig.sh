#!/usr/bin/env bash
# KubeadmCluster: print the admin kubeconfig (the component stores it as a secret and never logs it).
set -euo pipefail
root="${TARTLAB_ROOT:-}"
conf="$root/etc/kubernetes/admin.conf"
if [ ! -s "$conf" ]; then
  echo "tartlab: /etc/kubernetes/admin.conf is missing or empty: kubeadm init has not completed on this node" >&2
  exit 1
fi
cat "$conf"
