#!/usr/bin/env bash
# TartVm step 3: the VM's IPv4 address (stdout), read once per clone. It is what every node step and the cluster
# read, so it is kept out of the start step: a resize or restart updates `start` and leaves this output known and
# unchanged (issue 10, row 1). The start step has waited for the lease already; this wait is a safety net.
# Runs on the Mac under macOS's bash 3.2: no bash-4 features.
set -euo pipefail
: "${VM_NAME:?VM_NAME is required}"
: "${ADDRESS_WAIT_SECONDS:=120}"
export PATH="$PATH:/opt/homebrew/bin:/usr/local/bin"

state=$(tart list --source local --format json | node -e '
  const vms = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const vm = vms.find((v) => v.Name === process.argv[1]);
  process.stdout.write(vm ? String(vm.State) : "absent");
' "$VM_NAME")
if [ "$state" != running ]; then
  echo "tartlab: VM \"$VM_NAME\" is $state, so it has no address; run pulumi up again (it starts stopped VMs, T09)" >&2
  exit 1
fi

deadline=$((SECONDS + ADDRESS_WAIT_SECONDS))
ip=""
while [ "$SECONDS" -lt "$deadline" ]; do
  if ip=$(tart ip --wait 2 "$VM_NAME" 2>/dev/null) && [ -n "$ip" ]; then
    break
  fi
  ip=""
  sleep 1
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
printf '%s\n' "$ip"
