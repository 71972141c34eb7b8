#!/usr/bin/env bash
# KubeadmCluster (root, on the control plane): one minor at a time, as kubernetes.io's "Upgrading kubeadm
# clusters" task says, and a no-op when everything runs the target already; a run cut off after `kubeadm
# upgrade apply` finishes the rest, and the downgrade and skipped-minor refusals back up the program's. Prints
# the exact version the workers then install.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${K8S_MINOR:?K8S_MINOR is required (e.g. 1.36)}"
: "${K8S_PATCH:=}" # optional exact patch, e.g. 1.36.1
: "${UPGRADE_TIMEOUT_SECONDS:=900}"
: "${RETRY_PAUSE_SECONDS:=5}" # pause after the first failed attempt, n times it after the nth (fractions allowed)
: "${DRAIN_TIMEOUT_SECONDS:=300}"
: "${KUBELET_WAIT_SECONDS:=180}"
: "${POLL_SECONDS:=3}" # fractions allowed
root="${TARTLAB_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive
export KUBECONFIG=/etc/kubernetes/admin.conf
# Stdout is the version this step prints, so apt's output goes to stderr.

manifest="$root/etc/kubernetes/manifests/kube-apiserver.yaml"
current=$(grep -o 'kube-apiserver:v[0-9]*\.[0-9]*\.[0-9]*' "$manifest" 2>/dev/null | head -n1 | cut -d: -f2 || true)
if [ -z "$current" ]; then
  echo "tartlab: $NODE_NAME has no kube-apiserver manifest naming a version ($manifest); is the cluster initialised?" >&2
  exit 1
fi
want_minor=$(_k8s_minor "$K8S_MINOR")
have_minor=$(_k8s_minor "$current")
if [ "$want_minor" -lt "$have_minor" ] ||
  { [ -n "$K8S_PATCH" ] && [ "$(printf '%s\n%s\n' "v$K8S_PATCH" "$current" | sort -V | head -n1)" != "$current" ]; }; then
  echo "tartlab: $NODE_NAME runs $current; kubeadm cannot downgrade to ${K8S_PATCH:-$K8S_MINOR}." \
    "Set the cluster's kubernetesVersion back to \"${current#v}\"" >&2
  exit 1
fi
if [ "$want_minor" -gt $((have_minor + 1)) ]; then
  echo "tartlab: $NODE_NAME runs $current; ${K8S_MINOR} skips a minor and kubeadm upgrades one minor at a time." \
    "Set the cluster's kubernetesVersion to \"1.$((have_minor + 1))\" first" >&2
  exit 1
fi
# A run cut off between drain and uncordon uncordons on the next run.
drained="$root/etc/tartlab/upgrade-drained"
if [ "$want_minor" -eq "$have_minor" ] && { [ -z "$K8S_PATCH" ] || [ "v$K8S_PATCH" = "$current" ]; }; then
  if [ "v$(_installed_upstream kubelet)" = "$current" ] && [ "v$(_installed_upstream kubectl)" = "$current" ] &&
    [ ! -f "$drained" ]; then
    _sandbox_image
    echo "tartlab: $NODE_NAME already runs $current; nothing to upgrade" >&2
    printf '%s\n' "$current"
    exit 0
  fi
  # A run was cut off after `kubeadm upgrade apply`.
  echo "tartlab: $NODE_NAME's control plane runs $current but its kubelet is v$(_installed_upstream kubelet) and kubectl" \
    "v$(_installed_upstream kubectl); finishing the upgrade" >&2
  target=$current
  _k8s_repo "1.$(_k8s_minor "$target")"
else
  echo "tartlab: upgrading the control plane $NODE_NAME from $current to ${K8S_PATCH:-$K8S_MINOR}" >&2
  _k8s_repo "$K8S_MINOR"
  pin=""
  if [ -n "$K8S_PATCH" ]; then pin="=${K8S_PATCH}-*"; fi
  # Unheld for the change and held again (the kubeadm-upgrade task), so nothing upgrades silently.
  apt-mark unhold kubeadm >/dev/null
  _retry _apt install -y --no-install-recommends "kubeadm$pin" >&2
  apt-mark hold kubeadm >/dev/null
  target=$(kubeadm version -o short)
  if [ "$(_k8s_minor "$target")" != "$want_minor" ]; then
    echo "tartlab: $NODE_NAME: installed kubeadm $target is not of $K8S_MINOR" >&2
    exit 1
  fi
  log="$root/var/log/tartlab-kubeadm-upgrade.log"
  if ! timeout "$UPGRADE_TIMEOUT_SECONDS" kubeadm upgrade plan "$target" >"$log" 2>&1 ||
    ! timeout "$UPGRADE_TIMEOUT_SECONDS" kubeadm upgrade apply -y "$target" >>"$log" 2>&1; then
    echo "tartlab: kubeadm upgrade of $NODE_NAME to $target failed or took over ${UPGRADE_TIMEOUT_SECONDS}s;" \
      "last lines of $log:" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
fi

kubelet=$(_installed_upstream kubelet)
if [ "$kubelet" != "${target#v}" ] && [ "$(_k8s_minor "$kubelet")" != "$(_k8s_minor "$target")" ]; then
  # kubeadm's upgrade page: a kubelet minor upgrade drains its node first, the control plane included.
  mkdir -p "$root/etc/tartlab"
  : >"$drained"
  echo "tartlab: draining the control plane $NODE_NAME for its kubelet's upgrade from v$kubelet to $target" >&2
  if ! kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data \
    --timeout="${DRAIN_TIMEOUT_SECONDS}s" >&2; then
    echo "tartlab: drain of the control plane $NODE_NAME did not finish in ${DRAIN_TIMEOUT_SECONDS}s (a" \
      "PodDisruptionBudget or a stuck pod?); it stays cordoned and its kubelet is not upgraded. Fix the pod, then" \
      "run pulumi up again" >&2
    exit 1
  fi
fi
_kubelet_install "${target#v}"
if [ -f "$drained" ]; then
  _await_kubelet "$NODE_NAME" "$target"
  kubectl uncordon "$NODE_NAME" >&2
  rm -f "$drained"
fi
echo "tartlab: control plane $NODE_NAME upgraded to $target" >&2
printf '%s\n' "$target"
