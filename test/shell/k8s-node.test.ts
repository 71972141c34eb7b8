import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { Sandbox, sandbox } from "../harness/shell";

let sb: Sandbox;
let root: string;

/** A fake Ubuntu node: files under TARTLAB_ROOT, and fakes for every tool the node scripts call. */
function fakeNode(arch: string) {
  root = path.join(sb.dir, "root");
  for (const d of [
    "etc/netplan",
    "etc/modules-load.d",
    "etc/sysctl.d",
    "etc/apt/sources.list.d",
    "var/lib/dbus",
    "var/log",
    "proc/sys/net/ipv4",
  ]) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  writeFileSync(path.join(root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 ubuntu\n");
  writeFileSync(
    path.join(root, "etc/fstab"),
    "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n",
  );
  writeFileSync(path.join(root, "etc/machine-id"), "image-machine-id\n");
  writeFileSync(
    path.join(root, "etc/netplan/50-cloud-init.yaml"),
    "network:\n  ethernets:\n    en:\n      match: {name: en*}\n      dhcp4: true\n      dhcp-identifier: mac\n",
  );
  writeFileSync(path.join(root, "proc/sys/net/ipv4/ip_forward"), "1\n");
  for (const t of ["hostnamectl", "systemd-machine-id-setup", "netplan", "swapoff", "modprobe", "sysctl"]) {
    sb.fake(t, "exit 0");
  }
  // Like the real gpg --dearmor, read the key from stdin (a fake that ignored it would SIGPIPE the writer).
  sb.fake("gpg", "cat >/dev/null");
  for (const t of [
    "apt-get",
    "apt-mark",
    "systemctl",
    "kubelet",
    "kubectl",
    "crictl",
    "conntrack",
    "socat",
  ]) {
    sb.fake(t, "exit 0");
  }
  for (const t of ["ethtool", "iptables", "nsenter"]) sb.fake(t, "exit 0");
  sb.fake("hostname", 'echo "${FAKE_HOSTNAME:-ubuntu}"');
  sb.fake("swapon", "exit 0");
  sb.fake(
    "ip",
    'if [ "$*" = "-4 route show default" ]; then printf "%b" "${FAKE_ROUTES:-default via 192.168.64.1 dev enp0s1 proto dhcp\\n}"; fi',
  );
  sb.fake("dpkg", `[ "$1" = --print-architecture ] && echo ${arch}`);
  sb.fake("curl", 'echo "-----BEGIN PGP PUBLIC KEY BLOCK-----"');
  sb.fake(
    "kubeadm",
    `case "$1 $2" in
  "version -o") echo "v1.33.4" ;;
  "config images") printf 'registry.k8s.io/kube-apiserver:v1.33.4\\nregistry.k8s.io/pause:3.10\\nregistry.k8s.io/etcd:3.5.21-0\\n' ;;
esac`,
  );
  sb.fake(
    "containerd",
    `cat <<'TOML'
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.8"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = false
TOML`,
  );
}

const env = { NODE_NAME: "dev-worker1", K8S_MINOR: "1.33", K8S_PATCH: "" };
const run = (script: string, extra: Record<string, string> = {}, processEnv: Record<string, string> = {}) =>
  sb.run({ script, env: { ...env, ...extra }, processEnv: { TARTLAB_ROOT: root, ...processEnv } });
const file = (rel: string) => readFileSync(path.join(root, rel), "utf8");

beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.dispose());

describe("k8s-node/identity.sh", () => {
  test("unique hostname, fresh machine-id once, hosts entry it owns", async () => {
    fakeNode("arm64");
    const r = await run("k8s-node/identity.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.calls.includes("hostnamectl set-hostname dev-worker1"));
    assert.ok(r.calls.includes("systemd-machine-id-setup"));
    assert.match(file("etc/hosts"), /^127\.0\.1\.1 dev-worker1 # tartlab-hostname$/m);
    const again = await run("k8s-node/identity.sh", {}, { FAKE_HOSTNAME: "dev-worker1" });
    assert.equal(again.code, 0, again.stderr);
    const second = again.calls.slice(r.calls.length);
    assert.ok(!second.includes("systemd-machine-id-setup"), "machine-id regenerated only once");
    assert.ok(!second.some((c) => c.startsWith("hostnamectl")));
    assert.equal(file("etc/hosts").match(/tartlab-hostname/g)?.length, 1, "idempotent");
    assert.ok(!second.some((c) => c.startsWith("netplan")), "image already uses dhcp-identifier: mac");
  });

  test("adds DHCP-by-MAC when the image lacks it, without netplan apply", async () => {
    fakeNode("arm64");
    rmSync(path.join(root, "etc/netplan/50-cloud-init.yaml"));
    const r = await run("k8s-node/identity.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.match(file("etc/netplan/90-tartlab-dhcp.yaml"), /dhcp-identifier: mac/);
    assert.ok(r.calls.includes("netplan generate"));
    assert.ok(!r.calls.includes("netplan apply"));
  });

  test("two default routes: refuses with both listed (V07)", async () => {
    fakeNode("arm64");
    const routes = "default via 192.168.64.1 dev enp0s1\\ndefault via 10.0.2.2 dev enp0s2\\n";
    const r = await run("k8s-node/identity.sh", {}, { FAKE_ROUTES: routes });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node dev-worker1 has 2 IPv4 default routes; exactly one is required \(V07\)/);
    assert.match(r.stderr, /10\.0\.2\.2/);
  });
});

describe("k8s-node/prepare.sh", () => {
  for (const arch of ["arm64", "amd64"]) {
    test(`${arch}: apt update first, preflight packages, pkgs.k8s.io for the minor with its own keyring`, async () => {
      fakeNode(arch);
      const r = await run("k8s-node/prepare.sh");
      assert.equal(r.code, 0, r.stderr);
      const apt = r.calls.filter((c) => c.startsWith("apt-get"));
      assert.match(apt[0], /^apt-get .* update$/, "V03: update before any install");
      assert.match(
        apt[1],
        /install -y --no-install-recommends .*containerd conntrack socat ethtool ebtables/,
      );
      assert.match(apt[2], / update$/, "index refreshed after adding the Kubernetes repo");
      assert.match(apt[3], /install -y --no-install-recommends kubelet kubeadm kubectl$/);
      assert.ok(
        r.calls.includes(
          "curl -fsSL --connect-timeout 20 --max-time 120 https://pkgs.k8s.io/core:/stable:/v1.33/deb/Release.key",
        ),
      );
      assert.equal(
        file("etc/apt/sources.list.d/kubernetes.list"),
        `deb [arch=${arch} signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.33/deb/ /\n`,
      );
      assert.ok(r.calls.includes("apt-mark hold kubelet kubeadm kubectl"));
      assert.ok(!r.calls.some((c) => c.startsWith("apt-key")), "V04: never apt-key");
      const toml = file("etc/containerd/config.toml");
      assert.match(toml, /SystemdCgroup = true/);
      assert.match(toml, /sandbox_image = "registry.k8s.io\/pause:3.10"/);
      assert.match(file("etc/fstab"), /^# tartlab: swap off # \/swap.img none swap sw 0 0$/m);
      assert.match(file("etc/sysctl.d/99-tartlab-k8s.conf"), /net.ipv4.ip_forward = 1/);
      assert.equal(file("etc/modules-load.d/tartlab-k8s.conf"), "overlay\nbr_netfilter\n");
    });
  }

  test("an exact patch pins the packages", async () => {
    fakeNode("arm64");
    const r = await run("k8s-node/prepare.sh", { K8S_PATCH: "1.33.4" });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.calls.some((c) =>
        c.endsWith("install -y --no-install-recommends kubelet=1.33.4-* kubeadm=1.33.4-* kubectl=1.33.4-*"),
      ),
    );
  });

  test("apt failures are retried, then reported (V03)", async () => {
    fakeNode("arm64");
    // Fails the first update, then works.
    sb.fake(
      "apt-get",
      `f="$FAKE_CALLS.aptfail"; if [ ! -f "$f" ] && [ "\${*: -1}" = update ]; then touch "$f"; exit 100; fi`,
    );
    const r = await run("k8s-node/prepare.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls.filter((c) => c.endsWith(" update")).length, 3, "one retry of the first update");
  });

  test("unsupported architecture stops before any download (V05)", async () => {
    fakeNode("riscv64");
    const r = await run("k8s-node/prepare.sh");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unsupported architecture riscv64/);
    assert.ok(!r.calls.some((c) => c.startsWith("curl") || c.startsWith("apt-get")));
  });
});

describe("k8s-node/verify.sh", () => {
  test("ready node: prints the kubeadm version", async () => {
    fakeNode("arm64");
    const r = await run("k8s-node/verify.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "v1.33.4\n");
  });

  test("a missing preflight tool is named before kubeadm ever runs (T02)", async () => {
    fakeNode("arm64");
    rmSync(path.join(sb.bin, "conntrack"));
    const r = await run("k8s-node/verify.sh");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node dev-worker1 is missing conntrack on PATH/);
  });

  test("wrong kubeadm minor is refused", async () => {
    fakeNode("arm64");
    const r = await run("k8s-node/verify.sh", { K8S_MINOR: "1.34" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has kubeadm v1.33.4, expected v1.34.x/);
  });
});
