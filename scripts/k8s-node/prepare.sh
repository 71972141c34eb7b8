#!/usr/bin/env bash
# K8sNode step 2 (root, on the VM): re-running converges, never upgrades a package on its own and restarts
# containerd only when its config changed; TARTLAB_ROOT prefixes paths in tests.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${K8S_MINOR:?K8S_MINOR is required (e.g. 1.33)}"
: "${K8S_PATCH:=}"            # optional exact patch, e.g. 1.33.4
: "${RETRY_PAUSE_SECONDS:=5}" # pause after the first failed attempt, n times it after the nth (fractions allowed)
root="${TARTLAB_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive

# containerd 2.0.0-2.0.6 and 2.1.0-2.1.4 print no `SystemdCgroup` line (containerd/containerd#12101), so each
# key is written right under its table's header, which differs between config version 2 (1.x:
# plugins."io.containerd.grpc.v1.cri"…runc.options, sandbox_image) and 3 (2.x:
# plugins.'io.containerd.cri.v1.runtime'…runc.options, 'io.containerd.cri.v1.images'.pinned_images sandbox).
_containerd_config() {
  awk -v pause="$1" '
    function put(line) { match($0, /^[ \t]*/); printf "%s  %s\n", substr($0, 1, RLENGTH), line }
    /^[ \t]*\[/ {
      table = $0
      sub(/^[ \t]*\[/, "", table)
      sub(/\][ \t]*$/, "", table)
      gsub(/["\047]/, "", table)
      key = ""
      if (table ~ /^plugins\.(io\.containerd\.grpc\.v1\.cri|io\.containerd\.cri\.v1\.runtime)\.containerd\.runtimes\.runc\.options$/) key = "SystemdCgroup"
      else if (table == "plugins.io.containerd.grpc.v1.cri") key = "sandbox_image"
      else if (table == "plugins.io.containerd.cri.v1.images.pinned_images") key = "sandbox"
      print
      if (key == "SystemdCgroup") put("SystemdCgroup = true")
      else if (key == "sandbox_image") put("sandbox_image = \"" pause "\"")
      else if (key == "sandbox") put("sandbox = \047" pause "\047")
      next
    }
    key != "" && $0 ~ ("^[ \t]*" key "[ \t]*=") { next }
    { print }
  '
}

# kubelet refuses to run with swap.
swapoff -a
sed -i -E '/^[^#].*[[:space:]]swap[[:space:]]/ s/^/# tartlab: swap off # /' "$root/etc/fstab"

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

_dpkg_recover

# V03.
_retry _apt update
# T02: every binary kubeadm preflight checks (checks_linux.go addExecChecks); --no-upgrade keeps installed
# packages at their version.
_retry _apt install -y --no-install-recommends --no-upgrade ca-certificates curl gpg containerd \
  conntrack socat ethtool ebtables iptables iproute2 util-linux mount

# V04: one repository per minor, with its own keyring (never apt-key).
mkdir -p "$root/etc/apt/keyrings"
chmod 755 "$root/etc/apt/keyrings"
keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
repo="https://pkgs.k8s.io/core:/stable:/v${K8S_MINOR}/deb/"
key=$(_retry curl -fsSL --connect-timeout 20 --max-time 120 "${repo}Release.key")
printf '%s\n' "$key" | gpg --dearmor --batch --yes -o "$root$keyring"
printf 'deb [arch=%s signed-by=%s] %s /\n' "$arch" "$keyring" "$repo" >"$root/etc/apt/sources.list.d/kubernetes.list"
_retry _apt update

# A re-run never upgrades on its own; kubeadm >= 1.32 no longer pulls in crictl (krel metadata; T02).
patch=$K8S_PATCH
have=$(_installed kubeadm)
if [ -z "$patch" ]; then
  case "$have" in "${K8S_MINOR}".*) patch=${have%%-*} ;; esac
fi
pin=""
if [ -n "$patch" ]; then pin="=${patch}-*"; fi
crictl_pkg=cri-tools
crictl_have=$(_installed cri-tools)
case "$crictl_have" in "${K8S_MINOR}".*) crictl_pkg="cri-tools=$crictl_have" ;; esac
# The versions are explicit, so changing held packages or going back to a pinned patch is what was asked for.
_retry _apt install -y --no-install-recommends --allow-change-held-packages --allow-downgrades \
  "kubelet$pin" "kubeadm$pin" "kubectl$pin" "$crictl_pkg"
apt-mark hold kubelet kubeadm kubectl cri-tools >/dev/null

# The systemd cgroup driver matches the kubelet's.
version=$(kubeadm version -o short)
pause=$(kubeadm config images list --kubernetes-version "$version" 2>/dev/null | grep '/pause:' || true)
if [ -z "$pause" ]; then
  echo "tartlab: $NODE_NAME: kubeadm $version did not name a pause image" >&2
  exit 1
fi
mkdir -p "$root/etc/containerd" "$root/etc/tartlab"
conf="$root/etc/containerd/config.toml"
# Fixed names: a run cut off here leaves nothing the next run does not overwrite, and the restart stays owed.
new="$conf.tartlab-new"
restart_owed="$root/etc/tartlab/containerd-restart"
# Under pipefail a failing containerd is refused even when it printed a config.
if ! containerd config default | _containerd_config "$pause" >"$new"; then
  rm -f "$new"
  echo "tartlab: $NODE_NAME: containerd config default failed (containerd $(containerd --version 2>/dev/null || true));" \
    "not writing a configuration from its output" >&2
  exit 1
fi
if ! grep -Eq '^[[:space:]]*SystemdCgroup = true$' "$new" || ! grep -Fq "$pause" "$new"; then
  rm -f "$new"
  echo "tartlab: $NODE_NAME: containerd's default config has no runc options table or sandbox image to set" \
    "(containerd $(containerd --version 2>/dev/null || true)); cannot turn on SystemdCgroup" >&2
  exit 1
fi
if cmp -s "$new" "$conf"; then
  rm -f "$new"
else
  chmod 644 "$new"
  : >"$restart_owed"
  mv -f "$new" "$conf"
fi
if [ -f "$restart_owed" ]; then
  systemctl restart containerd
  rm -f "$restart_owed"
  echo "tartlab: $NODE_NAME: containerd configuration written, containerd restarted" >&2
fi
systemctl enable --now containerd
systemctl enable kubelet
echo "tartlab: $NODE_NAME prepared: kubeadm $version ($arch), sandbox $pause" >&2
