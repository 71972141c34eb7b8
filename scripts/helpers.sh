#!/usr/bin/env bash
# Functions lib/shell.ts defines on every script's first line (the script keeps its line numbers); functions only,
# for macOS's bash 3.2 and the Ubuntu VMs alike.

# The Homebrew directories after the caller's PATH: Pulumi may run without a login shell's PATH.
_homebrew_path() { export PATH="$PATH:/opt/homebrew/bin:/usr/local/bin"; }

# Runs "$@" up to RETRY_ATTEMPTS (5) times, pausing RETRY_PAUSE_SECONDS (5) times the failures so far (V03, V09),
# then says what it gave up on, for RETRY_LABEL (else NODE_NAME).
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

# Field $3 of the first element of the JSON array on stdin whose field $1 is $2, or "absent".
_json_find() {
  node -e '
    const [key, value, field] = process.argv.slice(1);
    const found = JSON.parse(require("fs").readFileSync(0, "utf8")).find((o) => o[key] === value);
    process.stdout.write(found ? String(found[field]) : "absent");
  ' "$1" "$2" "$3"
}

# Integer fields $2.. of the JSON object on stdin, space-separated; fails naming one that is not, as printed by $1.
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

# Runs $3.. with a deadline of $1 seconds, as timeout(1) would (exit 124), which macOS lacks; names $2 when it cuts.
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

# Starts $2.. in a session of its own (macOS has no setsid(1)), output to file $1, and prints its pid: it must
# outlive this step and Pulumi's process group, which is SIGKILLed when the plugin closes (cmdutil.KillChildren).
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

# State of the local Tart VM $1: running|stopped|suspended or "absent".
_vm_state() { _vm_field "$1" State; }

# Finishes a dpkg run an interruption (Ctrl-C, the Mac asleep, a killed pulumi) left in its journal: apt refuses every
# install until `dpkg --configure -a` has run (apt-pkg/deb/debsystem.cc: any all-digit file in /var/lib/dpkg/updates).
# The old conffiles are kept, as apt's installs keep them; dpkg's output goes to stderr (a step's stdout is data).
_dpkg_recover() {
  local f dirty=""
  for f in "${TARTLAB_ROOT:-}"/var/lib/dpkg/updates/*; do
    case "${f##*/}" in *[!0-9]* | "") ;; *) dirty=1 ;; esac
  done
  [ -n "$dirty" ] || return 0
  echo "tartlab: ${NODE_NAME:-}: an interrupted package installation is finished first (dpkg --configure -a)" >&2
  _retry dpkg --force-confdef --force-confold --configure -a </dev/null >&2
}

# Sets containerd's sandbox (pause) image to the one the installed kubeadm names (`kubeadm config images list`, as
# prepare.sh does), restarting containerd when it changed: a new minor may need another pause, and containerd reads
# it only when it starts; the restart is owed across an interruption (prepare.sh's marker). TARTLAB_ROOT: tests.
_sandbox_image() {
  local version pause conf new owed
  version=$(kubeadm version -o short)
  pause=$(kubeadm config images list --kubernetes-version "$version" 2>/dev/null | grep '/pause:' || true)
  conf="${TARTLAB_ROOT:-}/etc/containerd/config.toml"
  new="$conf.tartlab-new"
  owed="${TARTLAB_ROOT:-}/etc/tartlab/containerd-restart"
  if [ -z "$pause" ]; then
    echo "tartlab: $NODE_NAME: kubeadm $version did not name a pause image; containerd's sandbox image is unchanged" >&2
    return 1
  fi
  sed -E -e "s|^([[:space:]]*sandbox_image[[:space:]]*=[[:space:]]*)\".*\"|\1\"$pause\"|" \
    -e "s|^([[:space:]]*sandbox[[:space:]]*=[[:space:]]*)'.*'|\1'$pause'|" "$conf" >"$new"
  if ! grep -Fq "$pause" "$new"; then
    rm -f "$new"
    echo "tartlab: $NODE_NAME: $conf sets no sandbox image to change to $pause" >&2
    return 1
  fi
  if cmp -s "$new" "$conf"; then
    rm -f "$new"
  else
    chmod 644 "$new"
    mkdir -p "${TARTLAB_ROOT:-}/etc/tartlab"
    : >"$owed"
    mv -f "$new" "$conf"
  fi
  if [ -f "$owed" ]; then
    systemctl restart containerd
    rm -f "$owed"
    echo "tartlab: $NODE_NAME: containerd's sandbox image is now $pause; containerd restarted" >&2
  fi
}
