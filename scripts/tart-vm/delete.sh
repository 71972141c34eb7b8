#!/usr/bin/env bash
# TartVm delete step 1: succeeds when the VM is gone, and only warns about a VM this stack did not make.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${OWNER:?OWNER is required}"
: "${STOP_TIMEOUT_SECONDS:=30}"
_homebrew_path

records="${TARTLAB_HOME:-$HOME/.tartlab}/vms"
marker="$records/$VM_NAME.owner"
# None of what the create steps recorded may outlive the VM.
_forget() { rm -f "$marker" "$records/$VM_NAME.source" "$records/$VM_NAME.run" "$records/$VM_NAME.ip"; }

state=$(_vm_state "$VM_NAME")
if [ "$state" = "absent" ]; then
  echo "tartlab: VM \"$VM_NAME\" is already gone" >&2
  _forget
  exit 0
fi
if ! [ -f "$marker" ] || [ "$(cat "$marker")" != "$OWNER" ]; then
  echo "tartlab: WARNING: VM \"$VM_NAME\" exists but was not made by $OWNER; leaving it untouched" >&2
  exit 0
fi
if [ "$state" = "running" ]; then
  tart stop --timeout "$STOP_TIMEOUT_SECONDS" "$VM_NAME" || true
fi
tart delete "$VM_NAME"
_forget
echo "tartlab: deleted VM \"$VM_NAME\"" >&2
