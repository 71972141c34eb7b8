#!/usr/bin/env bash
# K8sNode step 1 (root, on the VM): clones share the image's hostname and machine-id, which kubeadm needs
# unique; TARTLAB_ROOT prefixes paths in tests.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
root="${TARTLAB_ROOT:-}"

if [ "$(hostname)" != "$NODE_NAME" ]; then
  hostnamectl set-hostname "$NODE_NAME"
fi
# Only the line this script owns is replaced.
sed -i '/# tartlab-hostname$/d' "$root/etc/hosts"
printf '127.0.1.1 %s # tartlab-hostname\n' "$NODE_NAME" >>"$root/etc/hosts"

# Clones share the image's SSH host keys, so any VM could answer for another at an address it took over (T09);
# the marker records which node name they were made for, and sshd reloads them without touching open sessions.
mkdir -p "$root/etc/tartlab"
marker="$root/etc/tartlab/machine-id.node"
if [ "$(cat "$marker" 2>/dev/null || true)" != "$NODE_NAME" ]; then
  rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
  systemd-machine-id-setup
  if [ -d "$root/var/lib/dbus" ]; then ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"; fi
  rm -f "$root"/etc/ssh/ssh_host_*
  # -A writes every missing default key type under the -f prefix (ssh-keygen(1)).
  if [ -n "$root" ]; then ssh-keygen -A -f "$root" >/dev/null; else ssh-keygen -A >/dev/null; fi
  systemctl try-reload-or-restart ssh
  # A clone would otherwise boot from the image's seed (systemd.io/BUILDING_IMAGES).
  mkdir -p "$root/var/lib/systemd"
  rm -f "$root/var/lib/systemd/random-seed"
  (umask 077 && head -c 512 /dev/urandom >"$root/var/lib/systemd/random-seed")
  printf '%s\n' "$NODE_NAME" >"$marker"
fi

# Every clone shares cloud-init's default user, which tartlab never uses and a golden-image clone recreates.
case "$(awk -F: '$1 == "ubuntu" { print substr($2, 1, 1) }' "$root/etc/shadow" 2>/dev/null || true)" in
  '!' | '*') userdel --remove ubuntu ;;
esac

# Tart finds the IP by MAC in the Mac's DHCP leases (Tart FAQ), so DHCP must identify by MAC; applied at next
# boot, never `netplan apply` under our own SSH session.
if ! grep -qs 'dhcp-identifier: mac' "$root"/etc/netplan/*.yaml; then
  cat >"$root/etc/netplan/90-tartlab-dhcp.yaml" <<'YAML'
network:
  version: 2
  ethernets:
    tartlab-all-en:
      match:
        name: "en*"
      dhcp4: true
      dhcp-identifier: mac
YAML
  chmod 600 "$root/etc/netplan/90-tartlab-dhcp.yaml"
  netplan generate
fi

# V07: report, never delete routes this script does not own.
mapfile -t routes < <(ip -4 route show default)
if [ "${#routes[@]}" -ne 1 ]; then
  echo "tartlab: node $NODE_NAME has ${#routes[@]} IPv4 default routes; exactly one is required (V07):" >&2
  printf '  %s\n' "${routes[@]:-(none)}" >&2
  exit 1
fi
echo "tartlab: identity of $NODE_NAME set (hostname, machine-id, SSH host keys, random seed, DHCP by MAC)" >&2
