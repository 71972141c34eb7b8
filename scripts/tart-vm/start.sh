#!/usr/bin/env bash
# TartVm create, step 2: size the VM, start it headless on Softnet and wait for its IP (printed on stdout).
# A VM that is already running is left running. Runs on the Mac under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${CPUS:?CPUS is required}"
: "${MEMORY_MB:?MEMORY_MB is required}"
: "${DISK_GB:?DISK_GB is required}"
: "${SOFTNET_ALLOW:?SOFTNET_ALLOW is required}"
: "${IP_WAIT_SECONDS:?IP_WAIT_SECONDS is required}"
export PATH="$PATH:/opt/homebrew/bin:/usr/local/bin"

log_dir="${TARTLAB_HOME:-$HOME/.tartlab}/logs"
log="$log_dir/$VM_NAME.log"

_vm_field() { # one JSON field of a local VM, or "absent" (T08: JSON, never the text table)
  tart list --source local --format json | node -e '
    const vms = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const vm = vms.find((v) => v.Name === process.argv[1]);
    process.stdout.write(vm ? String(vm[process.argv[2]]) : "absent");
  ' "$1" "$2"
}

_fail() {
  echo "tartlab: VM \"$VM_NAME\": $1" >&2
  if [ -f "$log" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 20 "$log" >&2 || true
  fi
  exit 1
}

pid=""
state=$(_vm_field "$VM_NAME" State)
case "$state" in
  absent)
    _fail "does not exist (deleted outside Pulumi?). Run: pulumi refresh, then pulumi up"
    ;;
  running)
    echo "tartlab: VM \"$VM_NAME\" is already running" >&2
    ;;
  *)
    # Sizing applies only while stopped (tart set does not check). --disk-size only grows (tart refuses to shrink).
    tart set "$VM_NAME" --cpu "$CPUS" --memory "$MEMORY_MB"
    disk=$(tart get "$VM_NAME" --format json | node -e '
      process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8")).Disk));')
    if [ "$DISK_GB" -gt "$disk" ]; then
      tart set "$VM_NAME" --disk-size "$DISK_GB"
    fi
    command -v softnet >/dev/null 2>&1 ||
      _fail "softnet is not on PATH; install it: brew install cirruslabs/cli/softnet"
    mkdir -p "$log_dir"
    # tart run never detaches, so start it:
    # - with its own stdio (all three fds), or this command would hang until the VM stops (facts/pulumi.md §1.7);
    # - in its own session (setsid), or it dies with us: Pulumi SIGKILLs each plugin's process group when it
    #   closes the plugin (cmdutil.KillChildren), and SIGHUP from a closing terminal would reach it too.
    # macOS has no setsid(1); Node (which Pulumi needs anyway) does it: spawn({detached: true}) calls setsid().
    # Softnet with this allow-list lets VMs reach each other (T03). --net-softnet explicitly: the allow-list
    # implies it only since Tart 2.24.0 (Run.swift, PR #994); both together are accepted by every version.
    pid=$(node -e '
      const fs = require("fs");
      const out = fs.openSync(process.argv[1], "a");
      const [cmd, ...args] = process.argv.slice(2);
      const child = require("child_process").spawn(cmd, args, { detached: true, stdio: ["ignore", out, out] });
      child.on("error", (e) => { process.stderr.write(String(e) + "\n"); process.exit(1); });
      child.unref();
      process.stdout.write(String(child.pid));
    ' "$log" tart run --no-graphics --net-softnet --net-softnet-allow="$SOFTNET_ALLOW" "$VM_NAME")
    ;;
esac

# Wait for the DHCP lease (T09): an explicit error naming the VM, never an empty IP passed on.
deadline=$((SECONDS + IP_WAIT_SECONDS))
ip=""
while [ "$SECONDS" -lt "$deadline" ]; do
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    _fail "tart run exited before the VM got an IP address"
  fi
  if ip=$(tart ip --wait 2 "$VM_NAME" 2>/dev/null) && [ -n "$ip" ]; then
    break
  fi
  ip=""
  sleep 1
done
[ -n "$ip" ] || _fail "got no IP address within ${IP_WAIT_SECONDS}s (tart ip --wait). Is it booting? See the log"
case "$ip" in
  *[!0-9.]* | "") _fail "tart ip printed \"$ip\", not an IPv4 address" ;;
esac
printf '%s\n' "$ip"
