#!/usr/bin/env bash
# Fetches the pinned Cilium chart into .cilium-chart/<version> for test/cilium-chart.test.ts, from the cilium
# module's zip on the Go module proxy (which lacks v1.19.8's go.mod, so `go mod download` refuses it); prints
# the chart's directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/pinned.sh
. "$root/tools/pinned.sh"
version=$(pinned cilium)
out="${TARTLAB_CILIUM_CHART:-$root/.cilium-chart/$version}"
if [ -f "$out/values.yaml" ] && [ -f "$out/values.schema.json" ]; then
  echo "$out"
  exit 0
fi
for tool in go curl unzip; do
  command -v "$tool" >/dev/null || {
    echo "cilium-chart.sh: $tool is not on PATH (apt-get install curl unzip; Go from go.dev)" >&2
    exit 1
  }
done
proxy=$(go env GOPROXY)
proxy=${proxy%%[,|]*}
case "$proxy" in
  http://* | https://*) ;;
  *)
    echo "cilium-chart.sh: GOPROXY's first entry is \"$proxy\", not a module proxy URL; set GOPROXY" >&2
    exit 1
    ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
url="${proxy%/}/github.com/cilium/cilium/@v/v$version.zip"
curl -fsSL --retry 3 -o "$tmp/cilium.zip" "$url" || {
  echo "cilium-chart.sh: could not download $url" >&2
  exit 1
}
unzip -q "$tmp/cilium.zip" "github.com/cilium/cilium@v$version/install/kubernetes/cilium/*" -d "$tmp/src"
mkdir -p "$(dirname "$out")"
rm -rf "$out"
mv "$tmp/src/github.com/cilium/cilium@v$version/install/kubernetes/cilium" "$out"
echo "$out"
