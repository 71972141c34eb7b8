/**
 * The failure exits of the node scripts: each is reached on the fake Ubuntu node (test/harness/node.ts)
 * with the fault that really causes it (a kubeadm that names no pause image, a containerd default config without
 * the runc options table, ip_forward reset, swap back on, containerd stopped, an image without the login user),
 * and each asserts the message and the effect: nothing written, nothing restarted, no version printed.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { FakeNode, fakeNode } from "../harness/node";
import { Sandbox, sandbox } from "../harness/shell";

const env = { NODE_NAME: "dev-worker1", K8S_MINOR: "1.35", K8S_PATCH: "" };
const CONTAINERD_FIXTURES = path.join(__dirname, "../fixtures/containerd");

/** What prepare.sh must not have left or changed on a node where it failed before writing containerd's config. */
function assertContainerdUntouched(node: FakeNode, before: { config?: string; starts: number }) {
  const dir = path.join(node.root, "etc/containerd");
  const config = path.join(dir, "config.toml");
  assert.equal(existsSync(config) ? readFileSync(config, "utf8") : undefined, before.config, "config.toml");
  // Whatever name the staged config has (prepare.sh: config.toml.tartlab-new), nothing but config.toml may stay.
  const temps = existsSync(dir) ? readdirSync(dir).filter((f) => f !== "config.toml") : [];
  assert.deepEqual(temps, [], "no temporary config left behind");
  assert.equal(node.starts("containerd"), before.starts, "containerd not (re)started by the failed run");
}

describe("k8s-node/prepare.sh failure exits", () => {
  let sb: Sandbox;
  beforeEach(() => (sb = sandbox()));
  afterEach(() => sb.dispose());

  for (const [fault, knob] of [
    ["cannot list its images", "fail"],
    ["lists images without a pause image", "no-pause"],
  ] as const) {
    test(`kubeadm ${fault}: stops before touching containerd's config or enabling the kubelet`, async () => {
      const node = fakeNode(sb);
      const r = await node.run("k8s-node/prepare.sh", env, { FAKE_KUBEADM_IMAGES: knob });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /tartlab: dev-worker1: kubeadm v1\.35\.2 did not name a pause image/);
      // containerd's postinst started it once, with no config of ours.
      assertContainerdUntouched(node, { starts: 1 });
      assert.doesNotMatch(r.stderr, /prepared:/);
    });
  }

  test("containerd's default config has no runc options table: refused, nothing written, nothing restarted", async () => {
    const node = fakeNode(sb);
    const ok = await node.run("k8s-node/prepare.sh", env);
    assert.equal(ok.code, 0, ok.stderr);
    const before = { config: node.file("etc/containerd/config.toml"), starts: node.starts("containerd") };
    // A containerd whose default config names its runtimes differently (no runc options table to set).
    const fixture = readFileSync(path.join(CONTAINERD_FIXTURES, "config-default-2.2.toml"), "utf8");
    const broken = fixture.replace(
      /^\s*\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.runc\.options\]\n/m,
      "\n",
    );
    assert.notEqual(broken, fixture, "the fixture has the table this test removes");
    writeFileSync(path.join(sb.dir, "no-runc-options.toml"), broken);
    const r = await node.run("k8s-node/prepare.sh", env, {
      FAKE_CONTAINERD_DEFAULT: path.join(sb.dir, "no-runc-options.toml"),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /tartlab: dev-worker1: containerd's default config has no runc options table or sandbox image to set \(containerd containerd github\.com\/containerd\/containerd 2\.2\.\d+\); cannot turn on SystemdCgroup/,
    );
    assertContainerdUntouched(node, before);
  });

  test("on a fresh node the same fault leaves no config at all", async () => {
    const node = fakeNode(sb);
    writeFileSync(path.join(sb.dir, "empty.toml"), "version = 3\n");
    const r = await node.run("k8s-node/prepare.sh", env, {
      FAKE_CONTAINERD_DEFAULT: path.join(sb.dir, "empty.toml"),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot turn on SystemdCgroup/);
    assertContainerdUntouched(node, { starts: 1 });
  });
});

describe("k8s-node/verify.sh failure exits on a prepared node", () => {
  let sb: Sandbox;
  let node: FakeNode;
  const forward = () => path.join(node.root, "proc/sys/net/ipv4/ip_forward");
  before(async () => {
    sb = sandbox();
    node = fakeNode(sb);
    const r = await node.run("k8s-node/prepare.sh", env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => sb.dispose());
  const verify = () => node.run("k8s-node/verify.sh", env);

  test("the prepared node is ready (the baseline each fault below breaks)", async () => {
    const r = await verify();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "v1.35.2\n");
  });

  test("ip_forward back to 0 (the sysctl file removed, then a reboot): refused, no version printed", async () => {
    writeFileSync(forward(), "0\n");
    try {
      const r = await verify();
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "tartlab: node dev-worker1 has net.ipv4.ip_forward != 1\n");
      assert.equal(r.stdout, "");
    } finally {
      writeFileSync(forward(), "1\n");
    }
  });

  test("swap on again (swapon -a after prepare): refused, no version printed", async () => {
    const swapOn = path.join(node.root, "run/fake-swap-on");
    writeFileSync(swapOn, "");
    try {
      const r = await verify();
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "tartlab: node dev-worker1 still has swap on\n");
      assert.equal(r.stdout, "");
    } finally {
      rmSync(swapOn);
    }
  });

  test("containerd stopped (crashed after prepare): refused, no version printed", async () => {
    const active = path.join(node.root, "run/fake-systemd/containerd.active");
    rmSync(active);
    try {
      const r = await verify();
      assert.equal(r.code, 1);
      assert.equal(r.stderr, "tartlab: node dev-worker1: containerd is not running\n");
      assert.equal(r.stdout, "");
    } finally {
      writeFileSync(active, "");
    }
  });

  test("a kubectl removed by hand is named (the preflight tools are checked one by one)", async () => {
    const kubectl = path.join(node.root, "usr/bin/kubectl");
    const text = readFileSync(kubectl);
    rmSync(kubectl);
    try {
      const r = await verify();
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^tartlab: node dev-worker1 is missing kubectl on PATH; kubeadm preflight would fail/,
      );
      assert.equal(r.stdout, "");
    } finally {
      writeFileSync(kubectl, text, { mode: 0o755 });
    }
  });
});

describe("kubeadm-cluster/init.sh: an image without the login user", () => {
  let sb: Sandbox;
  beforeEach(() => (sb = sandbox()));
  afterEach(() => sb.dispose());

  test("init is done, then the missing user is named; no kubeconfig is written anywhere", async () => {
    const root = path.join(sb.dir, "root");
    for (const d of ["etc/kubernetes", "var/log", "home"]) mkdirSync(path.join(root, d), { recursive: true });
    // The node's own user database (fake getent over $TARTLAB_ROOT/etc/passwd): the image's user is "admin".
    writeFileSync(
      path.join(root, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n",
    );
    sb.fake("getent", readFileSync(path.join(__dirname, "../fakes/node/tools/getent"), "utf8"));
    sb.fake(
      "kubeadm",
      `[ "$1 $2" = "version -o" ] && { echo v1.35.2; exit 0; }\necho admin >"$TARTLAB_ROOT/etc/kubernetes/admin.conf"`,
    );
    const r = await sb.run({
      script: "kubeadm-cluster/init.sh",
      env: {
        NODE_NAME: "dev-master",
        KUBEADM_CONFIG: "kind: InitConfiguration\n",
        LOGIN_USER: "ubuntu",
        KUBERNETES_VERSION: "v1.35.2",
      },
      processEnv: { TARTLAB_ROOT: root },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /tartlab: login user ubuntu does not exist on dev-master\n$/);
    assert.ok(
      existsSync(path.join(root, "etc/kubernetes/admin.conf")),
      "the control plane stays initialised",
    );
    assert.deepEqual(readdirSync(path.join(root, "home")), [], "no .kube created for anyone");
    assert.ok(!existsSync(path.join(root, ".kube")), "not under / either (an empty home)");
  });
});
