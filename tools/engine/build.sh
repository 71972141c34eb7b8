#!/usr/bin/env bash
# Builds the engine binaries tools/engine/go.mod pins into .engine/bin from the Go module proxy only, keeping
# one already built at its pin; usage `bash tools/engine/build.sh [name ...]`, under nice with GOFLAGS=-p=2
# unless GOFLAGS is set, since Go builds are CPU-heavy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="${TARTLAB_ENGINE_BIN:-$root/.engine/bin}"
export GOFLAGS="${GOFLAGS:--p=2}"
command -v go >/dev/null || {
  echo "build.sh: go is not on PATH (Go 1.26 or newer is needed)" >&2
  exit 1
}

# name|package|module whose version the binary carries|-X variable that holds the version ("" when none)
BINARIES=(
  "pulumi|github.com/pulumi/pulumi/pkg/v3/cmd/pulumi|github.com/pulumi/pulumi/pkg/v3|github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
)
# The proxy serves no fitting version of pulumi-language-nodejs (tools/engine/client.ts serves a program
# instead) or of the command 1.2.1, random 4.21.2 and kubernetes 4.34.2 providers (docs/engine-findings.md).

_pinned() { (cd "$here" && go list -m -f '{{.Version}}' "$1"); }

# "" when the file is missing or has none.
_built() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$2" '($1 == "dep" || $1 == "mod") && $2 == m { print $3; exit }'
}

want=("$@")
mkdir -p "$out"
for row in "${BINARIES[@]}"; do
  IFS='|' read -r name pkg mod var <<<"$row"
  if [ "${#want[@]}" -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then continue; fi
  version=$(_pinned "$mod")
  if [ "$(_built "$out/$name" "$mod")" = "$version" ]; then
    echo "$name $version: up to date ($out/$name)"
    continue
  fi
  ldflags=""
  if [ -n "$var" ]; then ldflags="-X $var=$version"; fi
  echo "$name $version: building $pkg (load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime))"
  start=$(date +%s)
  (cd "$here" && nice -n 19 go build -ldflags "$ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "$name $version: built in $(($(date +%s) - start)) s"
done

for row in "${BINARIES[@]}"; do
  IFS='|' read -r name _ mod _ <<<"$row"
  [ -x "$out/$name" ] || continue
  echo "$out/$name: $mod $(_built "$out/$name" "$mod")"
done
if [ -x "$out/pulumi" ]; then "$out/pulumi" version; fi
