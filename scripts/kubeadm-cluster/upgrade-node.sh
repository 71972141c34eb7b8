#!/usr/bin/env bash
# KubeadmCluster (root, on a drained worker): the control plane's exact version, as kubernetes.io's "Upgrading
# Linux nodes" task says; a no-op but for a stale sandbox image when kubelet runs it already, and a backstop
# refusal of a downgrade or skipped minor.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${CONTROL_PLANE_VERSION:?CONTROL_PLANE_VERSION is required (e.g. v1.36.1, printed by the control plane upgrade)}"
: "${UPGRADE_TIMEOUT_SECONDS:=600}"
: "${RETRY_PAUSE_SECONDS:=5}" # pause after the first failed attempt, n times it after the nth (fractions allowed)
root="${TARTLAB_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive

if [[ ! "$CONTROL_PLANE_VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]]; then
  echo "tartlab: $NODE_NAME: CONTROL_PLANE_VERSION \"$CONTROL_PLANE_VERSION\" is not an exact version like v1.36.1" >&2
  exit 1
fi
target=${CONTROL_PLANE_VERSION#v}
have=$(_installed_upstream kubelet)
if [ -z "$have" ]; then
  echo "tartlab: $NODE_NAME has no kubelet installed; node preparation did not run" >&2
  exit 1
fi
if [ "$have" = "$target" ]; then
  _sandbox_image
  echo "tartlab: $NODE_NAME already runs kubelet v$have; nothing to upgrade" >&2
  exit 0
fi
if [ "$(printf '%s\n%s\n' "$have" "$target" | sort -V | head -n1)" != "$have" ] ||
  [ "$(_k8s_minor "$target")" -gt $(($(_k8s_minor "$have") + 1)) ]; then
  echo "tartlab: $NODE_NAME runs kubelet v$have; refusing to move it to v$target (kubeadm upgrades one minor" \
    "at a time and never downgrades)" >&2
  exit 1
fi

echo "tartlab: upgrading worker $NODE_NAME from v$have to v$target" >&2
_k8s_repo "1.$(_k8s_minor "$target")"
apt-mark unhold kubeadm >/dev/null
_retry _apt install -y --no-install-recommends "kubeadm=${target}-*" >&2
apt-mark hold kubeadm >/dev/null
log="$root/var/log/tartlab-kubeadm-upgrade.log"
if ! timeout "$UPGRADE_TIMEOUT_SECONDS" kubeadm upgrade node >"$log" 2>&1; then
  echo "tartlab: kubeadm upgrade node on $NODE_NAME failed or took over ${UPGRADE_TIMEOUT_SECONDS}s;" \
    "last lines of $log:" >&2
  tail -n 30 "$log" >&2 || true
  exit 1
fi
_kubelet_install "$target"
echo "tartlab: worker $NODE_NAME upgraded to v$target" >&2
