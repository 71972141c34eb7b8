import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeNode, NodeOptions, fakeNode } from "../harness/node";
import { Sandbox, sandbox } from "../harness/shell";

let sb: Sandbox;
let node: FakeNode;

const env = { NODE_NAME: "dev-worker1", K8S_MINOR: "1.35", K8S_PATCH: "" };
const boot = (opts: NodeOptions = {}) => (node = fakeNode(sb, opts));
const run = (script: string, extra: Record<string, string> = {}, knobs: Record<string, string> = {}) =>
  node.run(script, { ...env, ...extra }, knobs);
/** The runc options table of the containerd config prepare.sh wrote, and the sandbox image lines. */
function runcOptions(toml: string): string[] {
  const lines = toml.split("\n");
  const start = lines.findIndex((l) => /\.containerd\.runtimes\.runc\.options\]\s*$/.test(l));
  assert.ok(start >= 0, "runc options table present");
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l.trim() !== "");
}

/** The tools verify.sh and kubeadm need that the base image lacks: prepare.sh installs them. */
const PREPARED_TOOLS = [
  "kubeadm",
  "kubelet",
  "kubectl",
  "crictl",
  "containerd",
  "conntrack",
  "socat",
  "ethtool",
];

beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.dispose());

describe("the fake node itself", () => {
  test("starts with the base image only: no Kubernetes tools, no conntrack, no host tools leaking in", () => {
    boot();
    for (const t of ["bash", "sed", "curl", "gpg", "ip", "iptables", "mount", "nsenter", "apt-get"]) {
      assert.ok(node.has(t), t);
    }
    for (const t of [...PREPARED_TOOLS, "node"]) {
      assert.ok(!node.has(t), t);
    }
  });
});

describe("k8s-node/identity.sh", () => {
  test("unique hostname, fresh machine-id once, hosts entry it owns", async () => {
    boot();
    const r = await run("k8s-node/identity.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(node.file("etc/hostname"), "dev-worker1\n");
    const id = node.file("etc/machine-id");
    assert.notEqual(id, "image-machine-id\n");
    assert.match(node.file("etc/hosts"), /^127\.0\.1\.1 dev-worker1 # tartlab-hostname$/m);
    // Its own SSH host keys (clones share the image's: T09), served by sshd after a reload.
    const key = node.file("etc/ssh/ssh_host_ed25519_key.pub");
    assert.match(key, /^ssh-ed25519 /);
    assert.doesNotMatch(key, /IMAGEKEY/);
    assert.match(node.file("etc/ssh/ssh_host_rsa_key.pub"), /^ssh-rsa /);
    assert.equal(node.starts("ssh"), 1, "sshd reloaded once");
    const again = await run("k8s-node/identity.sh");
    assert.equal(again.code, 0, again.stderr);
    const second = again.calls.slice(r.calls.length);
    assert.equal(node.file("etc/machine-id"), id, "machine-id regenerated only once");
    assert.equal(node.file("etc/ssh/ssh_host_ed25519_key.pub"), key, "host keys regenerated only once");
    assert.equal(node.starts("ssh"), 1);
    assert.ok(!second.some((c) => c.startsWith("hostnamectl")));
    assert.equal(node.file("etc/hosts").match(/tartlab-hostname/g)?.length, 1, "idempotent");
    assert.ok(!second.some((c) => c.startsWith("netplan")), "image already uses dhcp-identifier: mac");
  });

  test("nothing of the image's shared by clones: its locked ubuntu user removed, a random seed of its own", async () => {
    boot();
    // The Cirrus Labs image's accounts: cloud-init's default user "ubuntu", locked, next to the login user.
    const passwd = node.file("etc/passwd");
    writeFileSync(
      path.join(node.root, "etc/passwd"),
      `${passwd}ubuntu:x:1001:1001:Ubuntu:/home/ubuntu:/bin/bash\n`,
    );
    writeFileSync(
      path.join(node.root, "etc/shadow"),
      "root:*:19000:0:99999:7:::\nadmin:$6$salt$hash:19000:0:99999:7:::\nubuntu:!:19000:0:99999:7:::\n",
    );
    mkdirSync(path.join(node.root, "home/ubuntu"));
    mkdirSync(path.join(node.root, "var/lib/systemd"), { recursive: true });
    writeFileSync(path.join(node.root, "var/lib/systemd/random-seed"), "the image's seed\n");

    const r = await run("k8s-node/identity.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(node.file("etc/passwd"), /^ubuntu:/m);
    assert.doesNotMatch(node.file("etc/shadow"), /^ubuntu:/m);
    assert.match(node.file("etc/shadow"), /^admin:\$6\$/m, "the login user stays");
    assert.ok(!existsSync(path.join(node.root, "home/ubuntu")));
    const seedFile = path.join(node.root, "var/lib/systemd/random-seed");
    const seed = readFileSync(seedFile);
    assert.equal(seed.length, 512);
    assert.notEqual(seed.toString(), "the image's seed\n");
    assert.equal(statSync(seedFile).mode & 0o777, 0o600);

    const again = await run("k8s-node/identity.sh");
    assert.equal(again.code, 0, again.stderr);
    assert.ok(readFileSync(seedFile).equals(seed), "the seed is made once per node");
    assert.ok(!again.calls.slice(r.calls.length).some((c) => c.startsWith("userdel")));
  });

  test("an ubuntu user with a password (someone's own) is kept", async () => {
    boot();
    writeFileSync(
      path.join(node.root, "etc/passwd"),
      `${node.file("etc/passwd")}ubuntu:x:1001:1001:Ubuntu:/home/ubuntu:/bin/bash\n`,
    );
    writeFileSync(path.join(node.root, "etc/shadow"), "ubuntu:$6$salt$hash:19000:0:99999:7:::\n");
    const r = await run("k8s-node/identity.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.match(node.file("etc/passwd"), /^ubuntu:/m);
    assert.ok(!r.calls.some((c) => c.startsWith("userdel")));
  });

  test("adds DHCP-by-MAC when the image lacks it, without netplan apply", async () => {
    boot();
    rmSync(path.join(node.root, "etc/netplan/50-cloud-init.yaml"));
    const r = await run("k8s-node/identity.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.match(node.file("etc/netplan/90-tartlab-dhcp.yaml"), /dhcp-identifier: mac/);
    assert.ok(r.calls.includes("netplan generate"));
    assert.ok(!r.calls.includes("netplan apply"));
  });

  test("two default routes: refuses with both listed (V07)", async () => {
    boot();
    const routes = "default via 192.168.64.1 dev enp0s1\\ndefault via 10.0.2.2 dev enp0s2\\n";
    const r = await run("k8s-node/identity.sh", {}, { FAKE_ROUTES: routes });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node dev-worker1 has 2 IPv4 default routes; exactly one is required \(V07\)/);
    assert.match(r.stderr, /10\.0\.2\.2/);
  });

  test("no default route (DHCP gave none): refuses too (V07)", async () => {
    boot();
    const r = await run("k8s-node/identity.sh", {}, { FAKE_ROUTES: "" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /node dev-worker1 has 0 IPv4 default routes; exactly one is required \(V07\):\n {2}\(none\)\n$/,
    );
    assert.doesNotMatch(r.stderr, /identity of dev-worker1 set/);
  });
});

describe("k8s-node/prepare.sh", () => {
  for (const arch of ["arm64", "amd64"]) {
    test(`${arch}: preflight tools, containerd, kubelet/kubeadm/kubectl and crictl from pkgs.k8s.io, held (T02, V03, V04)`, async () => {
      boot({ arch });
      const r = await run("k8s-node/prepare.sh");
      assert.equal(r.code, 0, r.stderr);
      const apt = r.calls.filter((c) => c.startsWith("apt-get"));
      assert.match(apt[0], /^apt-get .* update$/, "V03: update before any install");
      assert.equal(
        node.file("etc/apt/sources.list.d/kubernetes.list"),
        `deb [arch=${arch} signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /\n`,
      );
      assert.ok(!r.calls.some((c) => c.startsWith("apt-key")), "V04: never apt-key");
      // Effects: the tools verify.sh and kubeadm need are now on the node's PATH.
      for (const t of PREPARED_TOOLS) {
        assert.ok(node.has(t), `${t} installed`);
      }
      assert.equal(node.installed("kubeadm"), "1.35.2-1.1", "newest patch of the minor");
      assert.equal(node.installed("cri-tools"), "1.35.0-1.1", "crictl from the same repository");
      assert.ok(node.installed("kubernetes-cni"), "kubelet's dependency");
      assert.deepEqual(node.held(), ["cri-tools", "kubeadm", "kubectl", "kubelet"]);
      assert.match(node.file("etc/fstab"), /^# tartlab: swap off # \/swap.img none swap sw 0 0$/m);
      assert.equal(node.file("proc/sys/net/ipv4/ip_forward"), "1\n", "sysctls applied");
      assert.equal(node.file("etc/modules-load.d/tartlab-k8s.conf"), "overlay\nbr_netfilter\n");
      assert.equal(
        node.file("run/fake-systemd/containerd.cgroup"),
        "systemd\n",
        "containerd runs with systemd cgroups",
      );
    });
  }

  // containerd 1.7 and 2.2 print `SystemdCgroup = false`; 2.0.0-2.0.6 / 2.1.0-2.1.4 print no such line (#12101).
  for (const [line, pause, sandboxLine] of [
    ["1.7", "registry.k8s.io/pause:3.10.1", /^ {4}sandbox_image = "registry\.k8s\.io\/pause:3\.10\.1"$/m],
    ["2.0", "registry.k8s.io/pause:3.10.1", /^ {6}sandbox = 'registry\.k8s\.io\/pause:3\.10\.1'$/m],
    ["2.2", "registry.k8s.io/pause:3.10.1", /^ {6}sandbox = 'registry\.k8s\.io\/pause:3\.10\.1'$/m],
  ] as const) {
    test(`containerd ${line}: SystemdCgroup = true in the runc options, sandbox image ${pause}`, async () => {
      boot({ containerd: line });
      const r = await run("k8s-node/prepare.sh");
      assert.equal(r.code, 0, r.stderr);
      const toml = node.file("etc/containerd/config.toml");
      const opts = runcOptions(toml);
      assert.equal(opts.filter((l) => /SystemdCgroup/.test(l)).length, 1, opts.join("\n"));
      assert.ok(
        opts.some((l) => /^\s+SystemdCgroup = true$/.test(l)),
        opts.join("\n"),
      );
      assert.match(toml, sandboxLine);
      assert.doesNotMatch(toml, /pause:3\.(8|10)['"]/);
      assert.equal(node.file("run/fake-systemd/containerd.cgroup"), "systemd\n");
    });
  }

  test("a default config without a sandbox line (or SystemdCgroup) gets both under their tables", async () => {
    boot();
    const fixture = readFileSync(
      path.join(__dirname, "../fixtures/containerd/config-default-2.0.toml"),
      "utf8",
    );
    const stripped = path.join(sb.dir, "no-sandbox.toml");
    writeFileSync(stripped, fixture.replace(/^ *sandbox = .*\n/m, ""));
    const r = await run("k8s-node/prepare.sh", {}, { FAKE_CONTAINERD_DEFAULT: stripped });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      node.file("etc/containerd/config.toml"),
      /^ {4}\[plugins\.'io\.containerd\.cri\.v1\.images'\.pinned_images\]\n {6}sandbox = 'registry\.k8s\.io\/pause:3\.10\.1'$/m,
    );
  });

  test("re-running never upgrades on its own and leaves containerd alone when its config is unchanged", async () => {
    boot();
    const first = await run("k8s-node/prepare.sh");
    assert.equal(first.code, 0, first.stderr);
    assert.equal(node.installed("kubeadm"), "1.35.2-1.1");
    const starts = node.starts("containerd");
    node.publish("1.35", "1.35.3");
    const again = await run("k8s-node/prepare.sh");
    assert.equal(again.code, 0, again.stderr);
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(node.installed(p), "1.35.2-1.1", p);
    assert.equal(node.starts("containerd"), starts, "containerd not restarted");
    assert.deepEqual(node.held(), ["cri-tools", "kubeadm", "kubectl", "kubelet"]);
    // Only a pinned patch moves the packages, up or back down, held or not.
    const up = await run("k8s-node/prepare.sh", { K8S_PATCH: "1.35.3" });
    assert.equal(up.code, 0, up.stderr);
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(node.installed(p), "1.35.3-1.1", p);
    const down = await run("k8s-node/prepare.sh", { K8S_PATCH: "1.35.1" });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(node.installed("kubeadm"), "1.35.1-1.1");
    assert.equal(node.starts("containerd"), starts, "same pause image: containerd config unchanged");
  });

  test("a changed containerd config is written and containerd restarted once", async () => {
    boot();
    assert.equal((await run("k8s-node/prepare.sh")).code, 0);
    const starts = node.starts("containerd");
    writeFileSync(path.join(node.root, "etc/containerd/config.toml"), "version = 3\n");
    const r = await run("k8s-node/prepare.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(node.starts("containerd"), starts + 1);
    assert.match(node.file("etc/containerd/config.toml"), /SystemdCgroup = true/);
  });

  test("apt failures are retried, then reported (V03)", async () => {
    boot();
    writeFileSync(path.join(sb.dir, "node", "apt-update-failures"), "1\n");
    const r = await run("k8s-node/prepare.sh", {}, { RETRY_PAUSE_SECONDS: "0.01" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.calls.filter((c) => /^apt-get .* update$/.test(c)).length,
      3,
      "one retry of the first update",
    );
  });

  test("unsupported architecture stops before any download (V05)", async () => {
    boot({ arch: "riscv64" });
    const r = await run("k8s-node/prepare.sh");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unsupported architecture riscv64/);
    assert.ok(!r.calls.some((c) => c.startsWith("curl") || c.startsWith("apt-get")));
  });
});

describe("k8s-node/verify.sh", () => {
  test("prepared node: ready, prints the exact kubeadm version", async () => {
    boot();
    assert.equal((await run("k8s-node/prepare.sh")).code, 0);
    const r = await run("k8s-node/verify.sh");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "v1.35.2\n");
  });

  test("an unprepared node: every missing tool is named before kubeadm ever runs (T02)", async () => {
    boot();
    const r = await run("k8s-node/verify.sh");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /node dev-worker1 is missing kubeadm kubelet kubectl containerd crictl conntrack socat ethtool on PATH/,
    );
  });

  test("wrong kubeadm minor or patch is refused", async () => {
    boot();
    assert.equal((await run("k8s-node/prepare.sh")).code, 0);
    const minor = await run("k8s-node/verify.sh", { K8S_MINOR: "1.34" });
    assert.equal(minor.code, 1);
    assert.match(minor.stderr, /has kubeadm v1\.35\.2, expected v1\.34\.\*/);
    const patch = await run("k8s-node/verify.sh", { K8S_PATCH: "1.35.1" });
    assert.equal(patch.code, 1);
    assert.match(patch.stderr, /has kubeadm v1\.35\.2, expected v1\.35\.1/);
  });
});
