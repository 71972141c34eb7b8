#!/usr/bin/env bash
# Builds the pinned Helm (lib/versions.ts VERSIONS.helm, the Helm the pinned Kubernetes provider embeds) from its Go
# module into .tools/helm-<version>/ (ignored by git) for test/cilium-render.test.ts, which renders the pinned Cilium
# chart with tartlab's values. A binary already there whose build info carries the pinned version is kept. Prints
# the binary's path. Go builds are CPU-heavy: this runs under nice with GOFLAGS=-p=2 unless GOFLAGS is set.
# Usage: bash tools/helm.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/pinned.sh
. "$root/tools/pinned.sh"
version=$(pinned helm)
command -v go >/dev/null || {
  echo "helm.sh: go is not on PATH (Helm is built from its Go module; Go from go.dev)" >&2
  exit 1
}
dir="${TARTLAB_HELM_DIR:-$root/.tools/helm-$version}"
bin="$dir/helm"
# The version of helm.sh/helm/v3 recorded in the binary's build info ("" when the file is missing or has none).
built() {
  [ -x "$bin" ] || return 0
  go version -m "$bin" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" { print $3; exit }'
}
if [ "$(built)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
export GOFLAGS="${GOFLAGS:--p=2}"
start=$SECONDS
# The version stamp `helm version` prints, as Helm's own Makefile sets it.
GOBIN="$dir" nice -n 19 go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$version" \
  "helm.sh/helm/v3/cmd/helm@$version" >&2 || {
  echo "helm.sh: go install helm.sh/helm/v3/cmd/helm@$version failed (is the Go module proxy reachable?)" >&2
  exit 1
}
[ "$(built)" = "$version" ] || {
  echo "helm.sh: $bin was built but its build info does not name helm.sh/helm/v3 $version" >&2
  exit 1
}
echo "helm.sh: built Helm $version in $((SECONDS - start)) s" >&2
echo "$bin"
