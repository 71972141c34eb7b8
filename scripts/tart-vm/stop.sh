#!/usr/bin/env bash
# TartVm delete, step 2 (runs before the clone is deleted): stop the VM. Succeeds when it is not running or gone.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${STOP_TIMEOUT_SECONDS:=30}"
export PATH="$PATH:/opt/homebrew/bin:/usr/local/bin"

_vm_state() {
  tart list --source local --format json | node -e '
    const vms = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const vm = vms.find((v) => v.Name === process.argv[1]);
    process.stdout.write(vm ? String(vm.State) : "absent");
  ' "$1"
}

state=$(_vm_state "$VM_NAME")
if [ "$state" != "running" ]; then
  echo "tartlab: VM \"$VM_NAME\" is $state; nothing to stop" >&2
  exit 0
fi
# tart stop: SIGINT, then SIGKILL after the timeout.
tart stop --timeout "$STOP_TIMEOUT_SECONDS" "$VM_NAME" || true
state=$(_vm_state "$VM_NAME")
if [ "$state" = "running" ]; then
  echo "tartlab: VM \"$VM_NAME\" is still running ${STOP_TIMEOUT_SECONDS}s after tart stop" >&2
  exit 1
fi
echo "tartlab: stopped VM \"$VM_NAME\"" >&2
