#!/usr/bin/env bash
# Functions that lib/shell.ts puts in front of every script, on the script's first line so that its own line
# numbers stay those of its file. Functions only: a script that calls none runs exactly as written.
# Runs on the Mac under macOS's bash 3.2 (no bash-4 features) and on the Ubuntu VMs.

# The Mac's Homebrew directories, after the user's own PATH: Pulumi and npm scripts may run without a login shell.
_homebrew_path() { export PATH="$PATH:/opt/homebrew/bin:/usr/local/bin"; }

# Runs "$@" until it succeeds, at most RETRY_ATTEMPTS times (5), pausing RETRY_PAUSE_SECONDS (5) after the first
# failure and n times that after the nth (V03, V09). Says what it gave up on, for RETRY_LABEL (default NODE_NAME).
_retry() {
  local attempt=1 max=${RETRY_ATTEMPTS:-5} i
  until "$@"; do
    if [ "$attempt" -ge "$max" ]; then
      echo "tartlab: ${RETRY_LABEL:-${NODE_NAME:-}}: gave up after $max attempts: $*" >&2
      return 1
    fi
    for ((i = 0; i < attempt; i++)); do sleep "${RETRY_PAUSE_SECONDS:-5}"; done
    attempt=$((attempt + 1))
  done
}

# Field $3 of the first element of the JSON array on stdin whose field $1 is $2, or "absent" when none is.
_json_find() {
  node -e '
    const [key, value, field] = process.argv.slice(1);
    const found = JSON.parse(require("fs").readFileSync(0, "utf8")).find((o) => o[key] === value);
    process.stdout.write(found ? String(found[field]) : "absent");
  ' "$1" "$2" "$3"
}

# The integer fields $2.. of the JSON object on stdin, space-separated; fails naming the first that is not an
# integer, as printed by $1 (the command that wrote the JSON).
_json_ints() {
  node -e '
    const [source, ...keys] = process.argv.slice(1);
    const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const bad = keys.find((k) => !Number.isInteger(o[k]));
    if (bad !== undefined) {
      process.stderr.write(source + " printed no integer " + bad + "\n");
      process.exit(1);
    }
    process.stdout.write(keys.map((k) => o[k]).join(" "));
  ' "$@"
}

# Runs $3.. under a deadline of $1 seconds (macOS has no timeout(1); node does it), stdin passed through; when cut
# off, says it gave up waiting for $2 and returns 124, as timeout(1) does.
_with_timeout() {
  node -e '
    const [secs, what, cmd, ...args] = process.argv.slice(1);
    const r = require("child_process").spawnSync(cmd, args, { stdio: "inherit", timeout: Number(secs) * 1000 });
    if (r.error && r.error.code === "ETIMEDOUT") {
      process.stderr.write("tartlab: gave up after " + secs + "s waiting for " + what + "\n");
      process.exit(124);
    }
    process.exit(r.status === null ? 1 : r.status);
  ' "$@"
}

# Starts $2.. with its output appended to file $1 and prints its pid. Detached: with its own stdio, or this step
# would hang until it ends, and in its own session (setsid), or it would die with Pulumi's process group, which is
# SIGKILLed when the plugin closes (cmdutil.KillChildren), or with a closing terminal's SIGHUP. macOS has no
# setsid(1); node's spawn({ detached: true }) calls setsid().
_spawn_detached() {
  node -e '
    const fs = require("fs");
    const out = fs.openSync(process.argv[1], "a");
    const [cmd, ...args] = process.argv.slice(2);
    const child = require("child_process").spawn(cmd, args, { detached: true, stdio: ["ignore", out, out] });
    child.on("error", (e) => { process.stderr.write(String(e) + "\n"); process.exit(1); });
    child.unref();
    process.stdout.write(String(child.pid));
  ' "$@"
}

# Field $2 of the local Tart VM $1, or "absent" (T08: Tart's JSON, never its text table).
_vm_field() { tart list --source local --format json | _json_find Name "$1" "$2"; }

# State of the local Tart VM $1: running|stopped|suspended, or "absent".
_vm_state() { _vm_field "$1" State; }
