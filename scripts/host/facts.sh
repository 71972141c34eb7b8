#!/usr/bin/env bash
# Host preflight facts as `key=value` lines for lib/host.ts; read-only, bash 3.2.
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
# Softnet needs a SUID-root binary or passwordless sudo, and Tart checks owner root and S_ISUID
# (Softnet.configureSUIDBitIfNeeded); `test -u` and `find -L` follow the Homebrew symlink as Tart does.
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
# `df -P` has the same columns on BSD and GNU.
tart_home="${TART_HOME:-$HOME/.tart}"
[ -d "$tart_home" ] || tart_home="$HOME"
echo "freeDiskBytes=$(($(df -Pk "$tart_home" | awk 'NR == 2 { print $4 }') * 1024))"
