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

# apt-get "$@" waiting for a dpkg lock held by unattended-upgrades at first boot instead of failing, without stdin.
_apt() { apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Acquire::http::Timeout=60 "$@" </dev/null; }

# The minor of Kubernetes version $1 ("36" of v1.36.1 or 1.36).
_k8s_minor() { cut -d. -f2 <<<"${1#v}"; }

# Installed version of package $1 ("1.36.1-1.1"), empty when it is not installed.
_installed() {
  { dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null || true; } | sed -n 's/^installed //p'
}

# Upstream part of the installed version of package $1 ("1.36.1"), empty when it is not installed.
_installed_upstream() {
  local v
  v=$(_installed "$1")
  printf '%s\n' "${v%%-*}"
}

# Makes apt use the pkgs.k8s.io repository of minor $1 (e.g. 1.36), with its own keyring, and reads its index, apt's
# output on stderr (V04: kubernetes.io "Changing the Kubernetes package repository": the list file names the minor).
# TARTLAB_ROOT: tests.
_k8s_repo() {
  local root="${TARTLAB_ROOT:-}" arch keyring url key
  _dpkg_recover # every apt call of this step comes after this: apt refuses all after an interrupted dpkg
  arch=$(dpkg --print-architecture)
  keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
  url="https://pkgs.k8s.io/core:/stable:/v$1/deb/"
  key=$(_retry curl -fsSL --connect-timeout 20 --max-time 120 "${url}Release.key")
  mkdir -p "$root/etc/apt/keyrings"
  printf '%s\n' "$key" | gpg --dearmor --batch --yes -o "$root$keyring"
  printf 'deb [arch=%s signed-by=%s] %s /\n' "$arch" "$keyring" "$url" >"$root/etc/apt/sources.list.d/kubernetes.list"
  _retry _apt update >&2
}

# Sets containerd's sandbox image to the installed kubeadm's pause (_sandbox_image), installs kubelet and kubectl at
# exactly version $1 ("1.36.1"; unheld for the change and held again, as kubeadm's upgrade tasks do) and restarts
# kubelet; apt's output goes to stderr.
_kubelet_install() {
  _sandbox_image
  apt-mark unhold kubelet kubectl >/dev/null
  _retry _apt install -y --no-install-recommends "kubelet=$1-*" "kubectl=$1-*" >&2
  apt-mark hold kubelet kubectl >/dev/null
  systemctl daemon-reload
  systemctl restart kubelet
}

# Waits until node $1's kubelet reports version $2, polling every POLL_SECONDS (3), for up to KUBELET_WAIT_SECONDS
# (180); then fails saying so: the node stays cordoned until it does.
_await_kubelet() {
  local deadline=$((SECONDS + ${KUBELET_WAIT_SECONDS:-180}))
  until [ "$(kubectl get node "$1" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)" = "$2" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "tartlab: $1's kubelet did not report $2 within ${KUBELET_WAIT_SECONDS:-180}s; it stays cordoned." \
        "Check it with: journalctl -u kubelet on $1" >&2
      return 1
    fi
    sleep "${POLL_SECONDS:-3}"
  done
}

# Runs ops/kubeconfig.ts "$@" in the tartlab project (tsx is a devDependency: `npm ci` installs it), on the Mac. The
# project directory is passed in (TARTLAB_PROJECT_DIR); the provider's working directory (the project, where `pulumi`
# runs) is the fallback for a checkout that has moved since the resource was created. The kubeconfig reaches it on
# stdin only: KUBECONFIG_CONTENT is not in its environment.
_kubeconfig_cli() {
  local dir
  for dir in "${TARTLAB_PROJECT_DIR:-}" "$PWD"; do
    if [ -n "$dir" ] && [ -f "$dir/ops/kubeconfig.ts" ]; then
      (
        unset KUBECONFIG_CONTENT
        cd "$dir" || exit
        exec node --import tsx ops/kubeconfig.ts "$@"
      )
      return
    fi
  done
  echo "tartlab: cannot find ops/kubeconfig.ts in ${TARTLAB_PROJECT_DIR:-(unset)} or $PWD; run pulumi in the tartlab project directory" >&2
  return 1
}
