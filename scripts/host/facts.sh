#!/usr/bin/env bash
# Host preflight facts, one `key=value` per line, for lib/host.ts to judge. Read-only: changes nothing.
# Runs on the Mac under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
_homebrew_path

echo "os=$(uname -s)"
echo "arch=$(uname -m)"
if [ "$(uname -s)" = Darwin ]; then echo "macosVersion=$(sw_vers -productVersion 2>/dev/null || true)"; fi
tart_path=$(command -v tart 2>/dev/null || true)
echo "tart=$tart_path"
if [ -n "$tart_path" ]; then echo "tartVersion=$(tart --version 2>/dev/null | head -n 1 || true)"; fi
softnet_path=$(command -v softnet 2>/dev/null || true)
echo "softnet=$softnet_path"
# Softnet needs root: a SUID-root binary or passwordless sudo (Tart's Network/Softnet.swift). SUID-root means both
# the SUID bit and owner root: Tart's own test (Softnet.configureSUIDBitIfNeeded: fileOwnerAccountID == 0 && S_ISUID), and
# softnet checks euid 0. `test -u` and `find -L` follow the Homebrew symlink to the Cellar file, as Tart does.
if [ -n "$softnet_path" ] && [ -u "$softnet_path" ]; then echo "softnetSuid=yes"; else echo "softnetSuid=no"; fi
if [ -n "$softnet_path" ] && [ -n "$(find -L "$softnet_path" -maxdepth 0 -user root 2>/dev/null)" ]; then
  echo "softnetRootOwned=yes"
else
  echo "softnetRootOwned=no"
fi
if sudo -n true >/dev/null 2>&1; then echo "passwordlessSudo=yes"; else echo "passwordlessSudo=no"; fi
if [ "$(uname -s)" = Darwin ]; then
  echo "memoryBytes=$(sysctl -n hw.memsize)"
  echo "cpus=$(sysctl -n hw.ncpu)"
else
  echo "memoryBytes=$(($(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\) kB$/\1/p' /proc/meminfo) * 1024))"
  echo "cpus=$(getconf _NPROCESSORS_ONLN)"
fi
# Free space where Tart keeps VMs. `df -P` output is POSIX-specified (same columns on BSD and GNU).
tart_home="${TART_HOME:-$HOME/.tart}"
[ -d "$tart_home" ] || tart_home="$HOME"
echo "freeDiskBytes=$(($(df -Pk "$tart_home" | awk 'NR == 2 { print $4 }') * 1024))"
