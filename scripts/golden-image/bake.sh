#!/usr/bin/env bash
# GoldenImage create (on the Mac, bash 3.2): bakes the local VM GOLDEN_NAME in a temporary VM renamed only
# once it is prepared, pre-pulled, cleaned and powered off, so no half-made golden image exists; an existing
# GOLDEN_NAME is kept, since the name digests every input.
set -euo pipefail
: "${GOLDEN_NAME:?GOLDEN_NAME is required}"
: "${BASE_IMAGE:?BASE_IMAGE is required}"
: "${K8S_MINOR:?K8S_MINOR is required}"
: "${K8S_PATCH:?K8S_PATCH is required}"
: "${IMAGES:?IMAGES is required}"
: "${PREPARE_SH:?PREPARE_SH is required}"
: "${PULL_SH:?PULL_SH is required}"
: "${CLEAN_SH:?CLEAN_SH is required}"
: "${CLONE_TIMEOUT_SECONDS:=1800}"
: "${BOOT_WAIT_SECONDS:=180}"
: "${GUEST_STEP_SECONDS:=3600}"
: "${POWEROFF_WAIT_SECONDS:=120}"
: "${PULL_ATTEMPTS:=4}"
: "${RETRY_PAUSE_SECONDS:=5}" # the guest steps' retry pause (prepare.sh, pull.sh)
: "${BOOT_POLL_SECONDS:=2}"   # poll intervals; fractions allowed (macOS sleep takes them)
: "${POWEROFF_POLL_SECONDS:=1}"
_homebrew_path

tmp="$GOLDEN_NAME-baking"
log_dir="${TARTLAB_HOME:-$HOME/.tartlab}/logs"
log="$log_dir/$tmp.log"

_discard() {
  if [ "$(_vm_state "$tmp")" = running ]; then tart stop --timeout 10 "$tmp" >/dev/null 2>&1 || true; fi
  if [ "$(_vm_state "$tmp")" != absent ]; then tart delete "$tmp" >/dev/null 2>&1 || true; fi
}

# Values go into the guest's shell as single-quoted exports, so one that would break out of them is refused.
for v in "$K8S_MINOR" "$K8S_PATCH" "$IMAGES" "$PULL_ATTEMPTS" "$RETRY_PAUSE_SECONDS"; do
  case "$v" in *"'"*)
    echo "tartlab: golden image: an input contains a single quote: $v" >&2
    exit 1
    ;;
  esac
done

# Output goes to stderr, since stdout is the image name alone.
_guest() {
  local what=$1 script=$2 exports=$3
  echo "tartlab: golden image: $what" >&2
  printf '%s\n%s\n' "$exports" "$script" |
    _with_timeout "$GUEST_STEP_SECONDS" "$what in $tmp" tart exec -i "$tmp" sudo bash -s >&2
}

# Another stack's bake of the same image would look like a leftover and be deleted; the lock is a symlink to
# the baker's PID (atomic, content included), taken over when that process is gone.
lock="${TARTLAB_HOME:-$HOME/.tartlab}/locks/$GOLDEN_NAME.bake"
mkdir -p "${lock%/*}"
if ! ln -s "$$" "$lock" 2>/dev/null; then
  holder=$(readlink "$lock" 2>/dev/null || true)
  if [ -n "$holder" ] && kill -0 "$holder" 2>/dev/null; then
    echo "tartlab: golden image \"$GOLDEN_NAME\" is being baked by another run (pid $holder, lock $lock);" \
      "run pulumi up again once it has finished: it will reuse the image" >&2
    exit 1
  fi
  echo "tartlab: golden image: taking over the bake lock of pid ${holder:-?}, which is gone" >&2
  rm -f "$lock"
  ln -s "$$" "$lock"
fi
trap 'rm -f "$lock"' EXIT

if [ "$(_vm_state "$GOLDEN_NAME")" != absent ]; then
  echo "tartlab: golden image \"$GOLDEN_NAME\" exists; keeping it" >&2
  printf '%s\n' "$GOLDEN_NAME"
  exit 0
fi

_discard
ok=0
trap '[ "$ok" = 1 ] || { echo "tartlab: golden image: bake failed; deleting $tmp" >&2; _discard; }; rm -f "$lock"' EXIT

CI=1 _with_timeout "$CLONE_TIMEOUT_SECONDS" "tart clone $BASE_IMAGE (golden image)" tart clone "$BASE_IMAGE" "$tmp" >&2
tart set "$tmp" --random-mac
mkdir -p "$log_dir"
_spawn_detached "$log" tart run --no-graphics "$tmp" >/dev/null

deadline=$((SECONDS + BOOT_WAIT_SECONDS))
until tart exec "$tmp" true >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: golden image: $tmp did not answer tart exec within ${BOOT_WAIT_SECONDS}s after boot; if its" \
      "Tart Guest Agent is missing ($BASE_IMAGE cached before the Cirrus Labs images shipped it, August 2025;" \
      "tart clone never refreshes a cached tag): tart pull $BASE_IMAGE" >&2
    exit 1
  fi
  sleep "$BOOT_POLL_SECONDS"
done

_guest "node preparation (packages, containerd, modules, sysctls)" "$PREPARE_SH" \
  "export NODE_NAME='$GOLDEN_NAME' K8S_MINOR='$K8S_MINOR' K8S_PATCH='$K8S_PATCH' RETRY_PAUSE_SECONDS='$RETRY_PAUSE_SECONDS'"
_guest "image pre-pull" "$PULL_SH" \
  "export K8S_PATCH='$K8S_PATCH' IMAGES='$IMAGES' PULL_ATTEMPTS='$PULL_ATTEMPTS' RETRY_PAUSE_SECONDS='$RETRY_PAUSE_SECONDS'"
_guest "identity clean-up" "$CLEAN_SH" ""

# Power off from inside for a clean filesystem, since tart stop is a hard power-off.
tart exec "$tmp" sudo systemd-run --on-active=1 systemctl poweroff >/dev/null
deadline=$((SECONDS + POWEROFF_WAIT_SECONDS))
while [ "$(_vm_state "$tmp")" = running ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "tartlab: golden image: $tmp still running ${POWEROFF_WAIT_SECONDS}s after its poweroff" >&2
    exit 1
  fi
  sleep "$POWEROFF_POLL_SECONDS"
done

tart rename "$tmp" "$GOLDEN_NAME"
ok=1
echo "tartlab: golden image \"$GOLDEN_NAME\" baked from $BASE_IMAGE (Kubernetes $K8S_PATCH)" >&2
printf '%s\n' "$GOLDEN_NAME"
