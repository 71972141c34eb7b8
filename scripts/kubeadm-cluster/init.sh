#!/usr/bin/env bash
# `kubeadm init` from lib/kubeadm.ts's v1beta4 config, once; kubeadm ties the address into certificates,
# manifests, kubeconfigs, node-ip and two ConfigMaps, so a changed DHCP address is re-addressed in place
# below.
set -euo pipefail
: "${NODE_NAME:?NODE_NAME is required}"
: "${KUBEADM_CONFIG:?KUBEADM_CONFIG is required}"
: "${LOGIN_USER:?LOGIN_USER is required}"
: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required (the exact version in KUBEADM_CONFIG, e.g. v1.35.2)}"
: "${INIT_TIMEOUT_SECONDS:=900}"
: "${APISERVER_WAIT_SECONDS:=300}"
: "${KUBECTL_TIMEOUT_SECONDS:=30}"
: "${POLL_SECONDS:=5}"
root="${TARTLAB_ROOT:-}"
export KUBECONFIG=/etc/kubernetes/admin.conf

mkdir -p "$root/etc/tartlab"
printf '%s\n' "$KUBEADM_CONFIG" >"$root/etc/tartlab/kubeadm-init.yaml"
admin_conf="$root/etc/kubernetes/admin.conf"
manifests="$root/etc/kubernetes/manifests"

# Replaces IPv4 $1 by $2 only where it stands alone, one per pass, as adjacent ones share a delimiter.
_ip_sed() {
  local re=${1//./\\.}
  printf ':a\ns/(^|[^0-9.])%s([^0-9.]|$)/\\1%s\\2/\nta\n' "$re" "$2"
}
# openssl x509 -checkip, as kubespray's SAN check.
_covers() { openssl x509 -noout -in "$1" -checkip "$2" 2>/dev/null | grep -q 'does match certificate'; }
_step() {
  local what=$1
  shift
  if ! timeout "$KUBECTL_TIMEOUT_SECONDS" "$@" >>"$readdress_log" 2>&1; then
    echo "tartlab: re-addressing $NODE_NAME: $what failed or took over ${KUBECTL_TIMEOUT_SECONDS}s; last lines of" \
      "${readdress_log#"$root"}:" >&2
    tail -n 20 "$readdress_log" >&2 || true
    exit 1
  fi
}

# The old address is kept in /etc/tartlab/readdress-from until every idempotent step is done, so a run cut off
# halfway resumes; commands follow kubeadm's v1.34 generated reference, not yet run against a real cluster.
_readdress() {
  local config="$root/etc/tartlab/kubeadm-init.yaml" pending="$root/etc/tartlab/readdress-from" new current old
  local version phase file ext ip_sed ci readdress_log
  new=$(sed -n 's/^ *advertiseAddress: *//p' "$config" | head -n1)
  if ! [[ "$new" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; then
    echo "tartlab: KUBEADM_CONFIG for $NODE_NAME has no IPv4 localAPIEndpoint.advertiseAddress (got \"$new\");" \
      "it comes from lib/kubeadm.ts initConfig: run pulumi up again" >&2
    exit 1
  fi
  current=$({ sed -n 's/^ *- --advertise-address=//p' "$manifests/kube-apiserver.yaml" 2>/dev/null || true; } | head -n1)
  if [ -z "$current" ]; then
    echo "tartlab: $NODE_NAME is initialised but /etc/kubernetes/manifests/kube-apiserver.yaml names no" \
      "--advertise-address; cannot tell whether its address changed. Check the control plane by hand" >&2
    exit 1
  fi
  if [ "$current" != "$new" ] && [ ! -f "$pending" ]; then printf '%s\n' "$current" >"$pending"; fi
  [ -f "$pending" ] || return 0
  old=$(cat "$pending")
  echo "tartlab: $NODE_NAME changed address from $old to $new; re-addressing its control plane" >&2
  readdress_log="$root/var/log/tartlab-readdress.log"
  : >"$readdress_log"
  chmod 600 "$readdress_log"
  # The phases get the running version, not the config's first-build one, so kubeadm-config stays true.
  version=$(grep -o 'kube-apiserver:v[0-9]*\.[0-9]*\.[0-9]*' "$manifests/kube-apiserver.yaml" | head -n1 | cut -d: -f2)
  sed "s/^kubernetesVersion: .*/kubernetesVersion: ${version:-$KUBERNETES_VERSION}/" "$config" \
    >"$root/etc/tartlab/kubeadm-readdress.yaml"
  # 1. Certificates first, for the recreated static pods; kubeadm keeps an existing certificate and fails when
  # it lacks a SAN (validateCertificateWithConfig in
  # https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/phases/certs/certs.go), so the old
  # pair is moved aside.
  mkdir -p "$root/etc/tartlab/readdress-old/etcd"
  for phase in apiserver etcd-server etcd-peer; do
    case "$phase" in apiserver) file=apiserver ;; etcd-server) file=etcd/server ;; *) file=etcd/peer ;; esac
    _covers "$root/etc/kubernetes/pki/$file.crt" "$new" && continue
    for ext in crt key; do
      if [ -f "$root/etc/kubernetes/pki/$file.$ext" ]; then
        mv -f "$root/etc/kubernetes/pki/$file.$ext" "$root/etc/tartlab/readdress-old/$file.$ext"
      fi
    done
    _step "kubeadm init phase certs $phase" kubeadm init phase certs "$phase" --config /etc/tartlab/kubeadm-readdress.yaml
  done
  # 2. etcd's stored peer URL stays the old one, which is harmless with one control plane (no peer dials it);
  # a second one would first need `etcdctl member update`.
  ip_sed=$(_ip_sed "$old" "$new")
  for file in "$manifests"/*.yaml "$root"/etc/kubernetes/*.conf "$root/var/lib/kubelet/kubeadm-flags.env"; do
    if [ -f "$file" ]; then sed -E -i "$ip_sed" "$file"; fi
  done
  # 3. kubelet reads node-ip and its kubeconfig only at start.
  systemctl restart kubelet
  local deadline=$((SECONDS + APISERVER_WAIT_SECONDS)) err=""
  until err=$(timeout "$KUBECTL_TIMEOUT_SECONDS" kubectl get --raw=/readyz 2>&1 >/dev/null); do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "tartlab: after re-addressing, the API server of $NODE_NAME did not answer at https://$new:6443" \
        "(kubectl get --raw=/readyz with /etc/kubernetes/admin.conf) within ${APISERVER_WAIT_SECONDS}s; last error:" \
        "${err:-none}. The old address and certificates are kept in /etc/tartlab/readdress-from and readdress-old/" >&2
      exit 1
    fi
    sleep "$POLL_SECONDS"
  done
  # 4. kubeadm upgrade and join read kubeadm-config, and joining workers use cluster-info's server (its jws
  # signatures are renewed by the bootstrapsigner controller).
  _step "kubeadm init phase upload-config kubeadm" \
    kubeadm init phase upload-config kubeadm --config /etc/tartlab/kubeadm-readdress.yaml
  ci=$(timeout "$KUBECTL_TIMEOUT_SECONDS" kubectl -n kube-public get configmap cluster-info -o yaml 2>>"$readdress_log") ||
    _step "kubectl get configmap cluster-info" false
  printf '%s\n' "$ci" | sed -E "$ip_sed" | _step "kubectl replace of kube-public/cluster-info" kubectl replace -f -
  rm -f "$pending" "$root/etc/tartlab/kubeadm-readdress.yaml"
  echo "tartlab: $NODE_NAME re-addressed from $old to $new: certificates, manifests, kubeconfigs, kubelet node-ip," \
    "kubeadm-config and cluster-info; the API server answers at https://$new:6443" >&2
}
if [ -f "$admin_conf" ]; then
  echo "tartlab: $NODE_NAME is already initialised; not running kubeadm init again" >&2
  _readdress
else
  # A kubeadm changed since the readiness step would run a control plane of another patch than its kubelet.
  have=$(kubeadm version -o short)
  if [ "$have" != "$KUBERNETES_VERSION" ]; then
    echo "tartlab: $NODE_NAME has kubeadm $have, but the cluster config says $KUBERNETES_VERSION;" \
      "run pulumi up again so node preparation and this config agree" >&2
    exit 1
  fi
  log="$root/var/log/tartlab-kubeadm-init.log"
  # kubeadm's output holds a join token, so its log is root-only before kubeadm writes to it.
  : >"$log"
  chmod 600 "$log"
  if ! timeout "$INIT_TIMEOUT_SECONDS" kubeadm init --config /etc/tartlab/kubeadm-init.yaml >"$log" 2>&1; then
    echo "tartlab: kubeadm init on $NODE_NAME failed or took over ${INIT_TIMEOUT_SECONDS}s; last lines of $log:" >&2
    tail -n 30 "$log" | grep -v -- '--token' >&2 || true
    exit 1
  fi
  echo "tartlab: kubeadm init on $NODE_NAME done" >&2
fi

# V10: kubectl works for the login user too; getent exits 2 for an unknown user, which pipefail would turn
# into a silent exit.
home=$({ getent passwd "$LOGIN_USER" || true; } | cut -d: -f6)
[ -n "$home" ] || {
  echo "tartlab: login user $LOGIN_USER does not exist on $NODE_NAME" >&2
  exit 1
}
install -d -m 700 -o "$LOGIN_USER" "$root$home/.kube"
install -m 600 -o "$LOGIN_USER" "$admin_conf" "$root$home/.kube/config"
