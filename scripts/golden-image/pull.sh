#!/usr/bin/env bash
# GoldenImage bake guest step 2 (root): pre-pulls through the CRI, where the kubelet looks, kubeadm's own
# images (`kubeadm config images list`) and lib/versions.ts's chart pins, so nodes start without a download;
# one image that cannot be pulled fails the bake.
set -euo pipefail
: "${K8S_PATCH:?K8S_PATCH is required (exact, e.g. 1.35.2)}"
: "${IMAGES:?IMAGES is required (one image reference per line)}"
: "${PULL_TIMEOUT_SECONDS:=900}"
: "${PULL_ATTEMPTS:=4}"
: "${RETRY_PAUSE_SECONDS:=5}" # pause after the first failed attempt, n times it after the nth (fractions allowed)
endpoint=unix:///run/containerd/containerd.sock

_pull() {
  local rc=0
  timeout "$PULL_TIMEOUT_SECONDS" crictl --runtime-endpoint "$endpoint" pull "$1" >/dev/null || rc=$?
  if [ "$rc" = 124 ]; then
    echo "tartlab: golden image: pulling $1 took longer than ${PULL_TIMEOUT_SECONDS}s" >&2
  fi
  return "$rc"
}

kubeadm_images=$(kubeadm config images list --kubernetes-version "v$K8S_PATCH")
if [ -z "$kubeadm_images" ]; then
  echo "tartlab: golden image: kubeadm v$K8S_PATCH listed no images" >&2
  exit 1
fi
count=0
while IFS= read -r image; do
  [ -n "$image" ] || continue
  RETRY_ATTEMPTS=$PULL_ATTEMPTS RETRY_LABEL="golden image" _retry _pull "$image"
  count=$((count + 1))
done <<<"$kubeadm_images
$IMAGES"
echo "tartlab: golden image: $count images pre-pulled" >&2
