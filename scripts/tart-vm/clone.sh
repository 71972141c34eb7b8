#!/usr/bin/env bash
# TartVm create step 1 (on the Mac, bash 3.2): refuses a VM this stack did not make, since `tart clone`
# silently replaces an existing VM of the same name.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${BASE_IMAGE:?BASE_IMAGE is required}"
: "${OWNER:?OWNER is required}"
: "${CLONE_TIMEOUT_SECONDS:=1800}"
_homebrew_path

marker_dir="${TARTLAB_HOME:-$HOME/.tartlab}/vms"
marker="$marker_dir/$VM_NAME.owner"

# The first clone of an image keeps its baked-in MAC, which other VMs may share, so a new one is set before
# the first boot; the clone record marks the clone complete and keeps `npm run images -- prune` off its image.
_finish_clone() {
  tart set "$VM_NAME" --random-mac
  printf '%s\n' "$BASE_IMAGE" >"$marker_dir/$VM_NAME.source"
  printf '%s\n' "$VM_NAME"
}

state=$(_vm_state "$VM_NAME")
if [ "$state" != "absent" ]; then
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$OWNER" ]; then
    # The next pulumi up finishes a clone cut off after `tart clone`.
    if ! [ -f "$marker_dir/$VM_NAME.source" ]; then
      echo "tartlab: VM \"$VM_NAME\" was cloned by an interrupted run; finishing it (its own MAC address)" >&2
      _finish_clone
      exit 0
    fi
    echo "tartlab: VM \"$VM_NAME\" already exists and belongs to $OWNER; keeping it" >&2
    printf '%s\n' "$VM_NAME"
    exit 0
  fi
  cat >&2 <<MSG
tartlab: refusing to create VM "$VM_NAME": a VM with that name already exists and stack $OWNER did not make it.
  (tart clone would silently replace it.) Either rename the node in the stack config,
  or, if you no longer need that VM: tart stop $VM_NAME; tart delete $VM_NAME
MSG
  exit 1
fi

# Claimed before the clone, so a run cut off right after `tart clone` leaves a VM that is still ours.
mkdir -p "$marker_dir"
printf '%s\n' "$OWNER" >"$marker"
# An earlier VM's record would make this one look finished if it is cut off now.
rm -f "$marker_dir/$VM_NAME.source"
# CI=1 prints plain progress lines, not a redrawn bar.
rc=0
CI=1 _with_timeout "$CLONE_TIMEOUT_SECONDS" "tart clone $BASE_IMAGE $VM_NAME" tart clone "$BASE_IMAGE" "$VM_NAME" || rc=$?
if [ "$rc" != 0 ]; then
  if [ "$(_vm_state "$VM_NAME")" = absent ]; then rm -f "$marker"; fi
  exit "$rc"
fi
_finish_clone
