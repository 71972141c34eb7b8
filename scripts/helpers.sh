#!/usr/bin/env bash
# lib/shell.ts defines these on every script's first line, so they are functions only, for macOS's bash 3.2
# and the Ubuntu VMs alike.

# Pulumi may run without a login shell's PATH.
_homebrew_path() { export PATH="$PATH:/opt/homebrew/bin:/usr/local/bin"; }

# Up to RETRY_ATTEMPTS (5) tries with a growing pause (V03, V09), then names RETRY_LABEL (else NODE_NAME).
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

# timeout(1)'s exit 124, which macOS lacks.
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

# macOS has no setsid(1), and the process must outlive Pulumi's process group, which is SIGKILLed when the
# plugin closes (cmdutil.KillChildren).
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

# T08: Tart's JSON, never its text table.
_vm_field() { tart list --source local --format json | _json_find Name "$1" "$2"; }

_vm_state() { _vm_field "$1" State; }

# An interrupted dpkg run makes apt refuse every install until `dpkg --configure -a`
# (apt-pkg/deb/debsystem.cc); output goes to stderr, since a step's stdout is data.
_dpkg_recover() {
  local f dirty=""
  for f in "${TARTLAB_ROOT:-}"/var/lib/dpkg/updates/*; do
    case "${f##*/}" in *[!0-9]* | "") ;; *) dirty=1 ;; esac
  done
  [ -n "$dirty" ] || return 0
  echo "tartlab: ${NODE_NAME:-}: an interrupted package installation is finished first (dpkg --configure -a)" >&2
  _retry dpkg --force-confdef --force-confold --configure -a </dev/null >&2
}

# A new minor may need another pause image, and containerd reads it only at start, so the restart is owed
# across an interruption (prepare.sh's marker).
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

# Waits for the dpkg lock unattended-upgrades holds at first boot.
_apt() { apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Acquire::http::Timeout=60 "$@" </dev/null; }

_k8s_minor() { cut -d. -f2 <<<"${1#v}"; }

_installed() {
  { dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null || true; } | sed -n 's/^installed //p'
}

_installed_upstream() {
  local v
  v=$(_installed "$1")
  printf '%s\n' "${v%%-*}"
}

# V04: the list file names the minor, with its own keyring (kubernetes.io "Changing the Kubernetes package
# repository").
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

# Unheld for the change and held again, as kubeadm's upgrade tasks do; apt's output goes to stderr.
_kubelet_install() {
  _sandbox_image
  apt-mark unhold kubelet kubectl >/dev/null
  _retry _apt install -y --no-install-recommends "kubelet=$1-*" "kubectl=$1-*" >&2
  apt-mark hold kubelet kubectl >/dev/null
  systemctl daemon-reload
  systemctl restart kubelet
}

# The node stays cordoned until its kubelet reports the version (polled up to KUBELET_WAIT_SECONDS).
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

# The provider's working directory is the fallback for a checkout moved since the resource was made; the
# kubeconfig comes on stdin only, never in the environment.
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
