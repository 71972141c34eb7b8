#!/usr/bin/env bash
# Runs first, in the same bundle, before every script that installs packages on a node (lib/shell.ts RUN_FIRST):
# prepare.sh and the upgrade steps. An install cut off (Ctrl-C, the Mac asleep, a killed pulumi) leaves dpkg's
# journal behind, and apt then refuses every install until `dpkg --configure -a` has run (apt-pkg/deb/debsystem.cc:
# any all-digit file in /var/lib/dpkg/updates). This finishes it. The old conffiles are kept, as apt's installs keep
# them. TARTLAB_ROOT prefixes every file path (tests only; empty on a real node).
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${RETRY_PAUSE_SECONDS:=5}" # pause after the first failed attempt, n times it after the nth (fractions allowed)
root="${TARTLAB_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive

_retry() {
  local attempt=1 max=5 i
  until "$@"; do
    if [ "$attempt" -ge "$max" ]; then
      echo "tartlab: $NODE_NAME: gave up after $max attempts: $*" >&2
      return 1
    fi
    for ((i = 0; i < attempt; i++)); do sleep "$RETRY_PAUSE_SECONDS"; done
    attempt=$((attempt + 1))
  done
}
_dpkg_interrupted() {
  local f
  for f in "$root"/var/lib/dpkg/updates/*; do
    case "${f##*/}" in *[!0-9]* | "") ;; *) return 0 ;; esac
  done
  return 1
}
if _dpkg_interrupted; then
  echo "tartlab: $NODE_NAME: an interrupted package installation is finished first (dpkg --configure -a)" >&2
  # Its output goes to stderr: an upgrade step's stdout is the version it prints for the next steps.
  _retry dpkg --force-confdef --force-confold --configure -a </dev/null >&2
fi
