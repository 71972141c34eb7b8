#!/usr/bin/env bash
# K8sNode step 1 (root, on the VM): give the clone its own identity. Clones share the image's hostname
# ("ubuntu") and probably its machine-id; kubeadm needs them unique per node.
# TARTLAB_ROOT prefixes every file path (tests only; empty on a real node).
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
root="${TARTLAB_ROOT:-}"

if [ "$(hostname)" != "$NODE_NAME" ]; then
  hostnamectl set-hostname "$NODE_NAME"
fi
# Resolve our own name locally; only the line this script owns is replaced.
sed -i '/# tartlab-hostname$/d' "$root/etc/hosts"
printf '127.0.1.1 %s # tartlab-hostname\n' "$NODE_NAME" >>"$root/etc/hosts"

# A fresh machine-id and SSH host keys, once per node (the marker records for which node name it was made).
# Clones of the Cirrus Labs image share its host keys (the image was booted once at build time),
# so before this any VM could answer for another at an address it took over (T09). sshd re-reads its host keys
# when reloaded (SIGHUP re-exec); sessions already open, this one included, are not touched.
mkdir -p "$root/etc/tartlab"
marker="$root/etc/tartlab/machine-id.node"
if [ "$(cat "$marker" 2>/dev/null || true)" != "$NODE_NAME" ]; then
  rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
  systemd-machine-id-setup
  if [ -d "$root/var/lib/dbus" ]; then ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"; fi
  rm -f "$root"/etc/ssh/ssh_host_*
  # -A writes every missing default key type under the -f prefix (ssh-keygen(1)); tests set a root prefix.
  if [ -n "$root" ]; then ssh-keygen -A -f "$root" >/dev/null; else ssh-keygen -A >/dev/null; fi
  systemctl try-reload-or-restart ssh
  # A random seed of its own: a clone of the base image booted from the image's (systemd.io/BUILDING_IMAGES;
  # the golden image carries none). systemd refreshes it at boot too; this does not depend on that.
  mkdir -p "$root/var/lib/systemd"
  rm -f "$root/var/lib/systemd/random-seed"
  (umask 077 && head -c 512 /dev/urandom >"$root/var/lib/systemd/random-seed")
  printf '%s\n' "$NODE_NAME" >"$marker"
fi

# cloud-init's default user "ubuntu", locked: the Cirrus Labs image has it, and a golden-image clone's first boot
# makes it again (cloud-init clean: a new instance). One account shared by every clone that tartlab never uses.
case "$(awk -F: '$1 == "ubuntu" { print substr($2, 1, 1) }' "$root/etc/shadow" 2>/dev/null || true)" in
  '!' | '*') userdel --remove ubuntu ;;
esac

# Stable address: Tart finds the IP by MAC in the Mac's DHCP leases, so DHCP must identify by MAC, not by the
# machine-id-derived DUID (Tart FAQ). The Cirrus Labs images already do this; add it if missing. Applied at
# next boot (netplan generate), never `netplan apply` under our own SSH session.
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

# V07: exactly one default route. Report, never "fix" by deleting routes this script does not own.
mapfile -t routes < <(ip -4 route show default)
if [ "${#routes[@]}" -ne 1 ]; then
  echo "tartlab: node $NODE_NAME has ${#routes[@]} IPv4 default routes; exactly one is required (V07):" >&2
  printf '  %s\n' "${routes[@]:-(none)}" >&2
  exit 1
fi
echo "tartlab: identity of $NODE_NAME set (hostname, machine-id, SSH host keys, random seed, DHCP by MAC)" >&2
