#!/usr/bin/env bash
# K8sNode step 2 (root, on the VM): everything kubeadm needs. Idempotent: re-running it converges.
# TARTLAB_ROOT prefixes every file path (tests only; empty on a real node).
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${K8S_MINOR:?K8S_MINOR is required (e.g. 1.33)}"
: "${K8S_PATCH:=}" # optional exact patch, e.g. 1.33.4
root="${TARTLAB_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive

# Bounded retry for network steps (V03, V09): says what it gave up on.
_retry() {
  local attempt=1 max=5
  until "$@"; do
    if [ "$attempt" -ge "$max" ]; then
      echo "tartlab: $NODE_NAME: gave up after $max attempts: $*" >&2
      return 1
    fi
    sleep $((attempt * 5))
    attempt=$((attempt + 1))
  done
}
# apt waits for a dpkg lock held by unattended-upgrades at first boot instead of failing.
_apt() { apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Acquire::http::Timeout=60 "$@" </dev/null; }

# Swap off, now and after reboots (kubelet refuses to run with swap).
swapoff -a
sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/# tartlab: swap off # /' "$root/etc/fstab"

# Kernel modules and sysctls kubeadm preflight and the CNI need.
printf 'overlay\nbr_netfilter\n' >"$root/etc/modules-load.d/tartlab-k8s.conf"
modprobe overlay
modprobe br_netfilter
cat >"$root/etc/sysctl.d/99-tartlab-k8s.conf" <<'CONF'
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
CONF
sysctl --system >/dev/null

# V05: the node's own architecture decides every artifact.
arch=$(dpkg --print-architecture)
case "$arch" in
  arm64 | amd64) ;;
  *)
    echo "tartlab: $NODE_NAME: unsupported architecture $arch" >&2
    exit 1
    ;;
esac

# V03: refresh the package index once before installing.
_retry _apt update
# T02: every binary kubeadm preflight checks (facts/kubernetes.md B.3), plus containerd.
_retry _apt install -y --no-install-recommends ca-certificates curl gpg containerd \
  conntrack socat ethtool ebtables iptables iproute2 util-linux mount

# V04: pkgs.k8s.io, one repository per minor, with its own keyring (never apt-key).
mkdir -p "$root/etc/apt/keyrings"
chmod 755 "$root/etc/apt/keyrings"
keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
repo="https://pkgs.k8s.io/core:/stable:/v${K8S_MINOR}/deb/"
key=$(_retry curl -fsSL --connect-timeout 20 --max-time 120 "${repo}Release.key")
printf '%s\n' "$key" | gpg --dearmor --batch --yes -o "$root$keyring"
printf 'deb [arch=%s signed-by=%s] %s /\n' "$arch" "$keyring" "$repo" >"$root/etc/apt/sources.list.d/kubernetes.list"
_retry _apt update

pin=""
if [ -n "$K8S_PATCH" ]; then pin="=${K8S_PATCH}-*"; fi
apt-mark unhold kubelet kubeadm kubectl >/dev/null 2>&1 || true
_retry _apt install -y --no-install-recommends "kubelet$pin" "kubeadm$pin" "kubectl$pin"
apt-mark hold kubelet kubeadm kubectl

# containerd: systemd cgroup driver (matches the kubelet) and the sandbox image this kubeadm expects.
version=$(kubeadm version -o short)
pause=$(kubeadm config images list --kubernetes-version "$version" 2>/dev/null | grep '/pause:' || true)
if [ -z "$pause" ]; then
  echo "tartlab: $NODE_NAME: kubeadm $version did not name a pause image" >&2
  exit 1
fi
mkdir -p "$root/etc/containerd"
containerd config default >"$root/etc/containerd/config.toml"
# containerd 1.x writes `sandbox_image = "…"`, 2.x writes `sandbox = '…'`; both spellings are handled.
sed -i -E \
  -e 's/SystemdCgroup = false/SystemdCgroup = true/' \
  -e "s#^([[:space:]]*sandbox_image = ).*#\\1\"${pause}\"#" \
  -e "s#^([[:space:]]*sandbox = ).*#\\1'${pause}'#" \
  "$root/etc/containerd/config.toml"
grep -q 'SystemdCgroup = true' "$root/etc/containerd/config.toml" || {
  echo "tartlab: $NODE_NAME: containerd config has no SystemdCgroup setting to turn on" >&2
  exit 1
}
systemctl restart containerd
systemctl enable kubelet
echo "tartlab: $NODE_NAME prepared: kubeadm $version ($arch), sandbox $pause" >&2
