#!/usr/bin/env bash
# TartVm step 3 (on the Mac, bash 3.2): prints the IPv4 address apart from the start step, so a resize leaves
# it known, and writes the VM's name into the guest through `tart exec` (by name, not address) as the marker
# every SSH script checks (lib/shell.ts).
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${ADDRESS_WAIT_SECONDS:=120}"
: "${GUEST_EXEC_SECONDS:=30}"
# macOS's sleep takes fractions.
: "${POLL_SECONDS:=1}"
: "${TART_IP_WAIT_SECONDS:=2}"
_homebrew_path

state=$(_vm_state "$VM_NAME")
if [ "$state" != running ]; then
  echo "tartlab: VM \"$VM_NAME\" is $state, so it has no address; run pulumi up again (it starts stopped VMs, T09)" >&2
  exit 1
fi

# Read from Tart's source (Commands/Exec.swift), not seen on a Mac, so it is given for a hang and any failure.
_no_agent_hint() {
  local image
  image=$(cat "${TARTLAB_HOME:-$HOME/.tartlab}/vms/$VM_NAME.source" 2>/dev/null || true)
  case "$image" in
    */*)
      printf '%s' "If the guest has no Tart Guest Agent: a tag of $image cached before the Cirrus Labs images shipped" \
        " it (August 2025) lacks it, and tart clone never refreshes a cached tag. Run: tart pull $image, then" \
        " rebuild this VM (pulumi up --replace on its $VM_NAME-clone resource)."
      ;;
    *) printf '%s' "tart exec needs the Tart Guest Agent in the guest (Tart >= 2.28.3, macOS 14+)." ;;
  esac
}

deadline=$((SECONDS + ADDRESS_WAIT_SECONDS))
ip=""
while :; do
  if ip=$(tart ip --wait "$TART_IP_WAIT_SECONDS" "$VM_NAME" 2>/dev/null) && [ -n "$ip" ]; then
    break
  fi
  ip=""
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep "$POLL_SECONDS"
done
if [ -z "$ip" ]; then
  echo "tartlab: VM \"$VM_NAME\" got no IP address within ${ADDRESS_WAIT_SECONDS}s (tart ip --wait)" >&2
  exit 1
fi
case "$ip" in
  *[!0-9.]*)
    echo "tartlab: VM \"$VM_NAME\": tart ip printed \"$ip\", not an IPv4 address" >&2
    exit 1
    ;;
esac

# A TERM sent before the job has exec'd its command is lost (the forked bash catches it under the EXIT trap),
# so it is sent again until the job is gone.
_end_job() {
  while kill "$1" 2>/dev/null; do sleep "$POLL_SECONDS"; done
  wait "$1" 2>/dev/null || true
}

# A hung guest agent must not hang pulumi up; the name goes as an argument because before Tart 2.28.2 `tart
# exec -i` never sent end-of-input (cirruslabs/tart#1100).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2016 # $1 is expanded by the guest's sh
tart exec "$VM_NAME" sudo sh -c 'mkdir -p /etc/tartlab && printf "%s\n" "$1" >/etc/tartlab/vm-name' sh "$VM_NAME" \
  </dev/null >"$log" 2>&1 &
pid=$!
end=$((SECONDS + GUEST_EXEC_SECONDS))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep "$POLL_SECONDS"; done
if kill -0 "$pid" 2>/dev/null; then
  _end_job "$pid"
  echo "tartlab: VM \"$VM_NAME\" did not answer tart exec within ${GUEST_EXEC_SECONDS}s (its guest agent is hung);" \
    "run pulumi up again: it restarts a VM that does not answer (T09). $(_no_agent_hint)" >&2
  exit 1
fi
if ! wait "$pid"; then
  echo "tartlab: VM \"$VM_NAME\": could not write its identity marker through tart exec (it printed: $(cat "$log"))" >&2
  echo "  $(_no_agent_hint)" >&2
  exit 1
fi

home="${TARTLAB_HOME:-$HOME/.tartlab}"
mkdir -p "$home/vms"
printf '%s\n' "$ip" >"$home/vms/$VM_NAME.ip"
printf '%s\n' "$ip"
