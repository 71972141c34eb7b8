#!/usr/bin/env bash
# TartVm delete, step 2 (runs before the clone is deleted, and on every resize): stop the VM gracefully.
# `tart stop` is a hard power-off (Tart's Commands/Run.swift: SIGINT -> VZVirtualMachine.stop()), which
# cuts etcd and containerd off mid-write. So: ask the guest to power off (`tart exec`, through the Tart Guest Agent
# that the Cirrus Labs images run; Tart >= 2.27, macOS 14+), wait a bounded time for the VM to leave `running`, and
# only then fall back to `tart stop`. Succeeds when the VM is not running or gone; fails if it is still running.
# Runs on the Mac under macOS's bash 3.2: no bash-4 features, no timeout(1).
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${STOP_TIMEOUT_SECONDS:=30}"
# How long the guest may take to answer `tart exec` and to power off.
: "${GUEST_EXEC_SECONDS:=15}"
: "${GRACEFUL_STOP_SECONDS:=60}"
# The pause between two looks (seconds; macOS's sleep takes fractions).
: "${POLL_SECONDS:=1}"
_homebrew_path

# Runs a command with its output in $exec_log, killed after $1 seconds (exit 124). Bash 3.2: a background job
# polled every POLL_SECONDS, as macOS has no timeout(1). A TERM that comes before the job has started its command
# is lost (with the EXIT trap set, the forked bash catches it, then execs), so it is sent until the job is gone.
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

# Waits up to $1 seconds for the VM to leave `running`; prints the last state seen.
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

# 1. Graceful: systemd stops kubelet, containerd and etcd's static pod cleanly, syncs disks, then powers off,
#    and `tart run` exits by itself. The poweroff is scheduled a second later (a transient systemd timer) so that
#    `tart exec` gets its answer before the shutdown stops the guest agent it talks through: exit 0 then reliably
#    means "poweroff requested". A non-zero exit (no guest agent, Tart < 2.27) or a hang (agent stuck) goes
#    straight to the hard stop, after one look at the state.
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

# 2. Hard power-off: tart stop sends SIGINT, then SIGKILL after the timeout.
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
