#!/usr/bin/env bash
# TartVm create and update step 2 (on the Mac, bash 3.2): a running VM restarts gracefully only when its size
# or recorded `tart run` options differ, and a smaller DISK_GB is refused before anything is touched.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${CPUS:?CPUS is required}"
: "${MEMORY_MB:?MEMORY_MB is required}"
: "${DISK_GB:?DISK_GB is required}"
: "${SOFTNET_ALLOW:?SOFTNET_ALLOW is required}"
: "${IP_WAIT_SECONDS:?IP_WAIT_SECONDS is required}"
: "${STOP_SCRIPT:?STOP_SCRIPT is required (scripts/tart-vm/stop.sh, run to restart a VM)}"
# macOS's sleep takes fractions.
: "${POLL_SECONDS:=1}"
: "${TART_IP_WAIT_SECONDS:=2}"
_homebrew_path

home="${TARTLAB_HOME:-$HOME/.tartlab}"
log_dir="$home/logs"
log="$log_dir/$VM_NAME.log"
run_record="$home/vms/$VM_NAME.run"
# T03; the allow-list implies --net-softnet only since Tart 2.24.0 (Run.swift, PR #994).
run_args=(--no-graphics --net-softnet "--net-softnet-allow=$SOFTNET_ALLOW")

_fail() {
  echo "tartlab: VM \"$VM_NAME\": $1" >&2
  if [ -f "$log" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 20 "$log" >&2 || true
  fi
  exit 1
}

_vm_size() { tart get "$VM_NAME" --format json | _json_ints "tart get" CPU Memory Disk; }

_run_options() { printf '%s\n' "${run_args[@]}"; }

# tart set does not check that the VM is stopped, and --disk-size only grows.
_size_and_run() {
  tart set "$VM_NAME" --cpu "$CPUS" --memory "$MEMORY_MB"
  if [ "$DISK_GB" -gt "$disk" ]; then
    tart set "$VM_NAME" --disk-size "$DISK_GB"
  fi
  command -v softnet >/dev/null 2>&1 ||
    _fail "softnet is not on PATH; install it: brew install cirruslabs/cli/softnet"
  mkdir -p "$log_dir" "$(dirname "$run_record")"
  pid=$(_spawn_detached "$log" tart run "${run_args[@]}" "$VM_NAME")
  _run_options >"$run_record"
}

pid=""
state=$(_vm_field "$VM_NAME" State)
[ "$state" != absent ] || _fail "does not exist (deleted outside Pulumi?). Run: pulumi refresh, then pulumi up"
size=$(_vm_size) || _fail "could not read its size (tart get $VM_NAME --format json)"
read -r cpu memory disk <<<"$size"
if [ "$DISK_GB" -lt "$disk" ]; then
  _fail "diskGb $DISK_GB is smaller than its disk of $disk GB; a VM disk only grows (tart set --disk-size).
  Set diskGb to $disk or more in the stack config; to get a smaller disk, rebuild the VM (pulumi up --replace on its clone)"
fi

if [ "$state" = running ]; then
  why=""
  [ "$cpu" = "$CPUS" ] || why="$why cpus $cpu -> $CPUS;"
  [ "$memory" = "$MEMORY_MB" ] || why="$why memoryMb $memory -> $MEMORY_MB;"
  [ "$disk" = "$DISK_GB" ] || why="$why diskGb $disk -> $DISK_GB;"
  if ! [ -f "$run_record" ]; then
    why="$why run options unknown (not started by tartlab);"
  elif [ "$(cat "$run_record")" != "$(_run_options)" ]; then
    why="$why run options $(tr '\n' ' ' <"$run_record")-> $(_run_options | tr '\n' ' ');"
  fi
  if [ -z "$why" ]; then
    echo "tartlab: VM \"$VM_NAME\" is already running with this size and these run options" >&2
  else
    echo "tartlab: VM \"$VM_NAME\" is running but must restart to apply:$why stopping it gracefully" >&2
    bash -c "$STOP_SCRIPT" tartlab-stop || _fail "could not be stopped to apply:$why"
    state=$(_vm_field "$VM_NAME" State)
    [ "$state" != running ] || _fail "still running after the stop step; stop it by hand (tart stop $VM_NAME) and retry"
    _size_and_run
  fi
else
  _size_and_run
fi

# T09: never an empty IP passed on.
deadline=$((SECONDS + IP_WAIT_SECONDS))
ip=""
while :; do
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    _fail "tart run exited before the VM got an IP address"
  fi
  # The resolver also answers from an earlier boot's lease (Commands/IP.swift), and `tart run` takes the VM's
  # lock only after it has started.
  if [ "$(_vm_field "$VM_NAME" State)" = running ] &&
    ip=$(tart ip --wait "$TART_IP_WAIT_SECONDS" "$VM_NAME" 2>/dev/null) && [ -n "$ip" ]; then
    break
  fi
  ip=""
  [ "$SECONDS" -lt "$deadline" ] || break
  sleep "$POLL_SECONDS"
done
[ -n "$ip" ] || _fail "got no IP address within ${IP_WAIT_SECONDS}s (tart ip --wait). Is it booting? See the log"
case "$ip" in
  *[!0-9.]* | "") _fail "tart ip printed \"$ip\", not an IPv4 address" ;;
esac
printf '%s\n' "$ip"
