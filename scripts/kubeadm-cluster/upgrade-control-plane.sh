#!/usr/bin/env bash
# KubeadmCluster (root, on the control plane): bring the control plane to the cluster's configured version, one
# minor at a time, as kubeadm's "Upgrading kubeadm clusters" task says (kubernetes.io/docs/tasks/administer-cluster/
# kubeadm/kubeadm-upgrade): pkgs.k8s.io repository of the new minor, kubeadm unheld -> installed -> held,
# `kubeadm upgrade plan`, `kubeadm upgrade apply -y v<exact>`, then kubelet and kubectl, kubelet restarted.
# A no-op when the control plane already runs the target (every first build). Refuses a downgrade or a skipped
# minor (the program refuses both before anything changes; this is the backstop). Prints the exact version the
# control plane runs afterwards (e.g. v1.36.1): the workers' upgrade steps install exactly that.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${K8S_MINOR:?K8S_MINOR is required (e.g. 1.36)}"
: "${K8S_PATCH:=}" # optional exact patch, e.g. 1.36.1
: "${UPGRADE_TIMEOUT_SECONDS:=900}"
: "${RETRY_PAUSE_SECONDS:=5}" # pause after the first failed attempt, n times it after the nth (fractions allowed)
root="${TARTLAB_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive
export KUBECONFIG=/etc/kubernetes/admin.conf

# Its output goes to stderr: stdout is the version this step prints for the next steps.
_apt() { apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Acquire::http::Timeout=60 "$@" </dev/null >&2; }
_minor() { cut -d. -f2 <<<"${1#v}"; }
# V04: the pkgs.k8s.io repository of one minor, with its own keyring (kubernetes.io "Changing the Kubernetes
# package repository": the list file names the minor).
_repo() {
  local arch keyring url key
  arch=$(dpkg --print-architecture)
  keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
  url="https://pkgs.k8s.io/core:/stable:/v$1/deb/"
  key=$(_retry curl -fsSL --connect-timeout 20 --max-time 120 "${url}Release.key")
  mkdir -p "$root/etc/apt/keyrings"
  printf '%s\n' "$key" | gpg --dearmor --batch --yes -o "$root$keyring"
  printf 'deb [arch=%s signed-by=%s] %s /\n' "$arch" "$keyring" "$url" >"$root/etc/apt/sources.list.d/kubernetes.list"
  _retry _apt update
}

manifest="$root/etc/kubernetes/manifests/kube-apiserver.yaml"
current=$(grep -o 'kube-apiserver:v[0-9]*\.[0-9]*\.[0-9]*' "$manifest" 2>/dev/null | head -n1 | cut -d: -f2 || true)
if [ -z "$current" ]; then
  echo "tartlab: $NODE_NAME has no kube-apiserver manifest naming a version ($manifest); is the cluster initialised?" >&2
  exit 1
fi
want_minor=$(_minor "$K8S_MINOR")
have_minor=$(_minor "$current")
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
if [ "$want_minor" -eq "$have_minor" ] && { [ -z "$K8S_PATCH" ] || [ "v$K8S_PATCH" = "$current" ]; }; then
  echo "tartlab: $NODE_NAME already runs $current; nothing to upgrade" >&2
  printf '%s\n' "$current"
  exit 0
fi

echo "tartlab: upgrading the control plane $NODE_NAME from $current to ${K8S_PATCH:-$K8S_MINOR}" >&2
_repo "$K8S_MINOR"
pin=""
if [ -n "$K8S_PATCH" ]; then pin="=${K8S_PATCH}-*"; fi
# Held packages are unheld for the change and held again (kubeadm-upgrade task; lesson: no silent upgrades).
apt-mark unhold kubeadm >/dev/null
_retry _apt install -y --no-install-recommends "kubeadm$pin"
apt-mark hold kubeadm >/dev/null
target=$(kubeadm version -o short)
if [ "$(_minor "$target")" != "$want_minor" ]; then
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
apt-mark unhold kubelet kubectl >/dev/null
_retry _apt install -y --no-install-recommends "kubelet=${target#v}-*" "kubectl=${target#v}-*"
apt-mark hold kubelet kubectl >/dev/null
systemctl daemon-reload
systemctl restart kubelet
echo "tartlab: control plane $NODE_NAME upgraded to $target" >&2
printf '%s\n' "$target"
