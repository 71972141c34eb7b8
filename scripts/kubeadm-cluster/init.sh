#!/usr/bin/env bash
# KubeadmCluster: `kubeadm init` on the control plane from a generated v1beta4 config (lib/kubeadm.ts).
# Idempotent: an initialised node (admin.conf present) is not initialised again.
# Installs the admin kubeconfig for the VM's login user too (V10). Prints nothing secret.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${KUBEADM_CONFIG:?KUBEADM_CONFIG is required}"
: "${LOGIN_USER:?LOGIN_USER is required}"
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required (the exact version in KUBEADM_CONFIG, e.g. v1.35.2)}"
: "${INIT_TIMEOUT_SECONDS:=900}"
root="${TARTLAB_ROOT:-}"

mkdir -p "$root/etc/tartlab"
printf '%s\n' "$KUBEADM_CONFIG" >"$root/etc/tartlab/kubeadm-init.yaml"
admin_conf="$root/etc/kubernetes/admin.conf"
if [ -f "$admin_conf" ]; then
  echo "tartlab: $NODE_NAME is already initialised; not running kubeadm init again" >&2
else
  # The config pins the control plane to the version the readiness step read from this kubeadm; a kubeadm changed
  # since then would run a control plane of another patch than its kubelet.
  have=$(kubeadm version -o short)
  if [ "$have" != "$KUBERNETES_VERSION" ]; then
    echo "tartlab: $NODE_NAME has kubeadm $have, but the cluster config says $KUBERNETES_VERSION;" \
      "run pulumi up again so node preparation and this config agree" >&2
    exit 1
  fi
  log="$root/var/log/tartlab-kubeadm-init.log"
  # kubeadm's own output holds a join token: keep it in a root-only log, show its tail only on failure.
  if ! timeout "$INIT_TIMEOUT_SECONDS" kubeadm init --config /etc/tartlab/kubeadm-init.yaml >"$log" 2>&1; then
    echo "tartlab: kubeadm init on $NODE_NAME failed or took over ${INIT_TIMEOUT_SECONDS}s; last lines of $log:" >&2
    tail -n 30 "$log" | grep -v -- '--token' >&2 || true
    exit 1
  fi
  chmod 600 "$log"
  echo "tartlab: kubeadm init on $NODE_NAME done" >&2
fi

# V10: kubectl works for the login user, not only for root.
# getent exits 2 for an unknown user: under pipefail that would end the script here, silently, without the message.
home=$({ getent passwd "$LOGIN_USER" || true; } | cut -d: -f6)
[ -n "$home" ] || {
  echo "tartlab: login user $LOGIN_USER does not exist on $NODE_NAME" >&2
  exit 1
}
install -d -m 700 -o "$LOGIN_USER" "$root$home/.kube"
install -m 600 -o "$LOGIN_USER" "$admin_conf" "$root$home/.kube/config"
