#!/usr/bin/env bash
# KubeadmCluster, T03: the worker proves the API server reachable before it joins, in a bounded wait (V09).
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${API_SERVER:?API_SERVER is required (ip:port)}"
: "${NETCHECK_TIMEOUT_SECONDS:=120}"
: "${NETCHECK_PROBE_SECONDS:=5}"
: "${NETCHECK_POLL_SECONDS:=3}"
host=${API_SERVER%:*}
port=${API_SERVER##*:}

deadline=$((SECONDS + NETCHECK_TIMEOUT_SECONDS))
# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash, on purpose
# A connect to a host that drops packets hangs for minutes otherwise.
until timeout "$NETCHECK_PROBE_SECONDS" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: $NODE_NAME cannot reach the API server $API_SERVER after ${NETCHECK_TIMEOUT_SECONDS}s (T03)." >&2
    echo "  VM-to-VM traffic is blocked: are the VMs on Softnet with --net-softnet-allow=0.0.0.0/0?" >&2
    echo "  Route from $NODE_NAME: $(ip -4 route get "$host" 2>&1 || true)" >&2
    exit 1
  fi
  sleep "$NETCHECK_POLL_SECONDS"
done
echo "tartlab: $NODE_NAME reaches $API_SERVER" >&2
