#!/usr/bin/env bash
# GoldenImage bake, guest step 3 (root, on the VM being baked, last thing before it powers off): remove everything
# that identifies this one machine, so no two clones share it. TARTLAB_ROOT prefixes every path (tests only).
set -euo pipefail
root="${TARTLAB_ROOT:-}"

# machine-id: emptied, not deleted. An empty /etc/machine-id makes systemd generate a new one at the next boot
# (machine-id(5)); identity.sh then sets the node's own (its marker is removed too, so it always runs).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/tartlab/machine-id.node"

# SSH host keys: removed, and regenerated on every clone's first boot before sshd starts. Ubuntu 24.04's
# ssh.service runs `sshd -t` first, which fails without host keys; `ssh-keygen -A` creates every missing default
# key type. A oneshot of our own, so it does not depend on cloud-init's per-instance ssh module running. Ordered
# before ssh.service only: with default dependencies it starts after basic.target, which is after sockets.target
# and so after ssh.socket; `Before=ssh.socket` made a loop that systemd breaks by dropping a job, sometimes
# ssh.socket's (a clone without SSH). sshd needs the keys, its socket does not.
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.wants" "$root/etc/systemd/system/multi-user.target.wants"
cat >"$root/etc/systemd/system/tartlab-ssh-hostkeys.service" <<'UNIT'
[Unit]
Description=tartlab: SSH host keys for a clone of the golden image
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service multi-user.target
UNIT
# What `systemctl enable` does with that [Install] section.
for wants in ssh.service.wants multi-user.target.wants; do
  ln -sfn /etc/systemd/system/tartlab-ssh-hostkeys.service "$root/etc/systemd/system/$wants/tartlab-ssh-hostkeys.service"
done

# The random seed: systemd feeds it to the kernel at boot, so every clone would start from the same one
# (systemd.io/BUILDING_IMAGES). Removed, and not written again when the bake powers this VM off: a runtime
# drop-in (gone at the next boot) empties systemd-random-seed's ExecStop, the save at shutdown.
rm -f "$root/var/lib/systemd/random-seed"
mkdir -p "$root/run/systemd/system/systemd-random-seed.service.d"
printf '[Service]\nExecStop=\n' >"$root/run/systemd/system/systemd-random-seed.service.d/tartlab-no-save.conf"
systemctl daemon-reload

# DHCP leases (networkd keeps them under /run, gone at power-off; dhclient's, if any, under /var/lib/dhcp).
rm -f "$root"/var/lib/dhcp/*.leases "$root"/var/lib/systemd/network/*.lease 2>/dev/null || true

# cloud-init: a clone is a new instance (its per-instance modules run again) and starts with clean logs.
if command -v cloud-init >/dev/null 2>&1; then
  cloud-init clean --logs
fi

# Logs and caches: nothing of the bake's history goes into every node.
if command -v journalctl >/dev/null 2>&1; then
  journalctl --rotate >/dev/null 2>&1 || true
  journalctl --vacuum-time=1s >/dev/null 2>&1 || true
fi
shopt -s nullglob globstar
for f in "$root"/var/log/**; do
  [ -f "$f" ] || continue
  case "$f" in
    *.gz | *.[0-9]) rm -f "$f" ;; # rotated
    *) : >"$f" ;;                 # emptied, not removed: services expect their log files
  esac
done
rm -rf "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/root/.bash_history
echo "tartlab: golden image cleaned of per-machine identity" >&2
