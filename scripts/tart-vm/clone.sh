#!/usr/bin/env bash
# TartVm create, step 1: clone the base image into a new VM and give it its own MAC address.
# Refuses to touch a VM this stack did not make: `tart clone` silently replaces an existing VM of the same name.
# Runs on the Mac under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${BASE_IMAGE:?BASE_IMAGE is required}"
: "${OWNER:?OWNER is required}"
: "${CLONE_TIMEOUT_SECONDS:=1800}"
_homebrew_path

marker_dir="${TARTLAB_HOME:-$HOME/.tartlab}/vms"
marker="$marker_dir/$VM_NAME.owner"

# The steps after `tart clone`: a MAC of its own (the first clone of an image keeps the image's baked-in MAC, which
# other VMs may share: stale DHCP leases, duplicate IPs), once, before its first boot; then the clone record, which
# says the clone is complete. What it was cloned from: `npm run images -- prune` never deletes a golden image a VM
# was cloned from.
_finish_clone() {
  tart set "$VM_NAME" --random-mac
  printf '%s\n' "$BASE_IMAGE" >"$marker_dir/$VM_NAME.source"
  printf '%s\n' "$VM_NAME"
}

state=$(_vm_state "$VM_NAME")
if [ "$state" != "absent" ]; then
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$OWNER" ]; then
    # A clone cut off after `tart clone` (Ctrl-C, the Mac asleep, a killed pulumi) is finished by
    # the next pulumi up, which runs this step again.
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

# The claim comes before the clone: a run cut off right after `tart clone` leaves a VM that is still ours (and is
# finished above) when pulumi up runs this step again. A clone that failed takes it back.
mkdir -p "$marker_dir"
printf '%s\n' "$OWNER" >"$marker"
# A clone record left by an earlier VM of this name would make this one look finished if it is cut off now.
rm -f "$marker_dir/$VM_NAME.source"
# The first clone pulls the image (several GB). CI=1: plain progress lines, not a redrawn progress bar.
rc=0
CI=1 _with_timeout "$CLONE_TIMEOUT_SECONDS" "tart clone $BASE_IMAGE $VM_NAME" tart clone "$BASE_IMAGE" "$VM_NAME" || rc=$?
if [ "$rc" != 0 ]; then
  if [ "$(_vm_state "$VM_NAME")" = absent ]; then rm -f "$marker"; fi
  exit "$rc"
fi
_finish_clone
