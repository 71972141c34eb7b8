#!/usr/bin/env bash
# TartVm delete step 2 and every resize (on the Mac, bash 3.2): `tart stop` is a hard power-off
# (Commands/Run.swift) that cuts etcd and containerd mid-write, so the guest is asked to power off through
# `tart exec` first, with `tart stop` only as the bounded fallback.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${STOP_TIMEOUT_SECONDS:=30}"
: "${GUEST_EXEC_SECONDS:=15}"
: "${GRACEFUL_STOP_SECONDS:=60}"
# macOS's sleep takes fractions.
: "${POLL_SECONDS:=1}"
_homebrew_path

# macOS has no timeout(1); a TERM sent before the job has exec'd its command is lost (the forked bash catches
# it under the EXIT trap), so it is sent until the job is gone.
exec_log=$(mktemp)
trap 'rm -f "$exec_log"' EXIT
_run_with_deadline() {
  local secs=$1 pid end rc
  shift
  "$@" </dev/null >"$exec_log" 2>&1 &
  pid=$!
  end=$((SECONDS + secs))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      while kill "$pid" 2>/dev/null; do sleep "$POLL_SECONDS"; done
      wait "$pid" 2>/dev/null || true
      return 124
    fi
    sleep "$POLL_SECONDS"
  done
  rc=0
  wait "$pid" || rc=$?
  return "$rc"
}

_wait_not_running() {
  local end=$((SECONDS + $1)) st
  st=$(_vm_state "$VM_NAME")
  while [ "$st" = "running" ] && [ "$SECONDS" -lt "$end" ]; do
    sleep "$POLL_SECONDS"
    st=$(_vm_state "$VM_NAME")
  done
  printf '%s' "$st"
}

state=$(_vm_state "$VM_NAME")
if [ "$state" != "running" ]; then
  echo "tartlab: VM \"$VM_NAME\" is $state; nothing to stop" >&2
  exit 0
fi

# 1. The poweroff runs a second later (transient timer), so `tart exec` answers first and exit 0 means
# "poweroff requested"; no agent or a hang goes straight to the hard stop.
rc=0
_run_with_deadline "$GUEST_EXEC_SECONDS" tart exec "$VM_NAME" sudo systemd-run --on-active=1 systemctl poweroff || rc=$?
case "$rc" in
  0) state=$(_wait_not_running "$GRACEFUL_STOP_SECONDS") ;;
  124)
    echo "tartlab: VM \"$VM_NAME\": tart exec (guest poweroff) gave no answer within ${GUEST_EXEC_SECONDS}s" >&2
    state=$(_wait_not_running 0)
    ;;
  *)
    echo "tartlab: VM \"$VM_NAME\": could not ask the guest to power off (tart exec exit $rc): $(tail -n 3 "$exec_log")" >&2
    state=$(_wait_not_running 0)
    ;;
esac
if [ "$state" != "running" ]; then
  echo "tartlab: stopped VM \"$VM_NAME\" (guest powered off)" >&2
  exit 0
fi

# 2. tart stop sends SIGINT, then SIGKILL after the timeout.
if [ "$rc" = 0 ]; then
  echo "tartlab: VM \"$VM_NAME\" still running ${GRACEFUL_STOP_SECONDS}s after the guest poweroff" >&2
fi
echo "tartlab: VM \"$VM_NAME\": forcing it off with tart stop (a hard power-off)" >&2
tart stop --timeout "$STOP_TIMEOUT_SECONDS" "$VM_NAME" || true
state=$(_vm_state "$VM_NAME")
if [ "$state" = "running" ]; then
  echo "tartlab: VM \"$VM_NAME\" is still running after a guest poweroff and tart stop --timeout ${STOP_TIMEOUT_SECONDS}; stop it by hand (tart stop $VM_NAME) and retry" >&2
  exit 1
fi
echo "tartlab: stopped VM \"$VM_NAME\" (forced)" >&2
