/**
 * An interrupted step, the fixes one by one (quick; test/shell/interrupted-steps.test.ts and
 * test/shell/interrupted-prepare.test.ts cut every step of the whole create and delete sequence): a step killed at
 * one fake call (test/fakes/interrupt), then run again as the next `pulumi up` runs it, finishes the job.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, test } from "node:test";
import { fakeNode } from "../harness/node";
import { FAKES_DIR, RunOptions, Sandbox, ShellRun, sandboxesPerTest } from "../harness/shell";

const newSandbox = sandboxesPerTest();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs `opts` killed (SIGKILL to its process group) before or after its first fake call matching `at`; which call
 * that is comes from `dry`, the same run uncut in a fresh sandbox (its fake calls).
 */
async function cut(
  sb: Sandbox,
  opts: RunOptions,
  at: RegExp,
  when: "before" | "after",
  dry: () => Promise<string[]>,
): Promise<ShellRun> {
  const calls = await dry();
  const n = calls.findIndex((c) => at.test(c)) + 1;
  assert.ok(n > 0, `no call matches ${at}: ${calls.join("\n")}`);
  const control = mkdtempSync(path.join(tmpdir(), "tartlab-cut-"));
  dirs.push(control);
  const group = path.join(control, "pgid");
  return sb.run({
    ...opts,
    groupFile: group,
    processEnv: {
      ...opts.processEnv,
      TMPDIR: control,
      FAKE_INTERRUPT: path.join(FAKES_DIR, "interrupt"),
      FAKE_INTERRUPT_COUNT: path.join(control, "count"),
      FAKE_INTERRUPT_CALL: String(n),
      FAKE_INTERRUPT_WHEN: when,
      FAKE_INTERRUPT_PGID: group,
    },
  });
}

describe("tart-vm/clone.sh cut off, then run again", () => {
  const env = { VM_NAME: "dev-worker1", BASE_IMAGE: "ghcr.io/cirruslabs/ubuntu:24.04", OWNER: "tartlab/dev" };
  const mac = () => {
    const sb = newSandbox();
    sb.useFake("tart");
    return sb;
  };
  const opts: RunOptions = { script: "tart-vm/clone.sh", deleteScript: "tart-vm/delete.sh", env };
  // The calls of an uncut clone: the same for every test, so made once.
  let dryCalls: Promise<string[]> | undefined;
  const dry = () =>
    (dryCalls ??= (async () => {
      const sb = mac();
      await sb.run(opts);
      return sb.calls();
    })());
  const vmFile = (sb: Sandbox, f: string) =>
    readFileSync(path.join(sb.dir, "tart/dev-worker1", f), "utf8").trim();

  for (const when of ["after", "before"] as const) {
    test(`${when === "after" ? "right after tart clone" : "before its own MAC"}: the VM is still ours, and is finished`, async () => {
      const sb = mac();
      const at = when === "after" ? /^tart clone / : /^tart set dev-worker1 --random-mac$/;
      assert.notEqual((await cut(sb, opts, at, when, dry)).code, 0);
      assert.equal(vmFile(sb, "mac"), "image-mac", "cut before its own MAC");
      const r = await sb.run(opts);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /cloned by an interrupted run; finishing it/);
      assert.match(vmFile(sb, "mac"), /^random-\d+$/, "a MAC of its own (no duplicate address)");
      assert.equal(r.calls.filter((c) => c.startsWith("tart clone")).length, 1, "not cloned again");
      assert.equal(
        readFileSync(path.join(sb.home, ".tartlab/vms/dev-worker1.source"), "utf8"),
        `${env.BASE_IMAGE}\n`,
      );
      assert.equal(
        readFileSync(path.join(sb.home, ".tartlab/vms/dev-worker1.owner"), "utf8"),
        "tartlab/dev\n",
      );
    });
  }

  test("a clone record an earlier VM of that name left does not make a cut-off clone look finished", async () => {
    const sb = mac();
    mkdirSync(path.join(sb.home, ".tartlab/vms"), { recursive: true });
    writeFileSync(path.join(sb.home, ".tartlab/vms/dev-worker1.source"), "an-older-image\n");
    assert.notEqual((await cut(sb, opts, /^tart set dev-worker1 --random-mac$/, "before", dry)).code, 0);
    const r = await sb.run(opts);
    assert.equal(r.code, 0, r.stderr);
    assert.match(vmFile(sb, "mac"), /^random-\d+$/);
    assert.equal(
      readFileSync(path.join(sb.home, ".tartlab/vms/dev-worker1.source"), "utf8"),
      `${env.BASE_IMAGE}\n`,
    );
  });

  for (const gone of [false, true]) {
    test(`destroy forgets what the Mac recorded about the VM${gone ? " (VM already gone)" : ""}`, async () => {
      const sb = mac();
      assert.equal((await sb.run(opts)).code, 0);
      const vms = path.join(sb.home, ".tartlab/vms");
      for (const f of ["run", "ip"]) writeFileSync(path.join(vms, `dev-worker1.${f}`), "x\n");
      if (gone) rmSync(path.join(sb.dir, "tart/dev-worker1"), { recursive: true });
      const r = await sb.run({ ...opts, action: "delete" });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readdirSync(vms), []);
    });
  }

  test("a clone that fails takes its claim back: the VM name stays free for anyone", async () => {
    const sb = mac();
    sb.fake("tart", 'if [ "$1" = clone ]; then echo "Error: network unreachable" >&2; exit 1; fi; echo "[]"');
    const r = await sb.run(opts);
    assert.equal(r.code, 1);
    assert.ok(!existsSync(path.join(sb.home, ".tartlab/vms/dev-worker1.owner")));
  });
});

describe("k8s-node/prepare.sh cut off, then run again", () => {
  const env = { NODE_NAME: "dev-worker1", K8S_MINOR: "1.35", K8S_PATCH: "" };
  const node = () => {
    const sb = newSandbox();
    return { sb, node: fakeNode(sb) };
  };
  const run = (processEnv: Record<string, string>): RunOptions => ({
    script: "k8s-node/prepare.sh",
    env,
    processEnv,
  });

  // The calls of an uncut preparation: the same for every test, so made once.
  let dryCalls: Promise<string[]> | undefined;
  const dry = () =>
    (dryCalls ??= (async () => {
      const d = node();
      await d.node.run("k8s-node/prepare.sh", env);
      return d.sb.calls();
    })());

  async function cutPrepare(at: RegExp, when: "before" | "after") {
    const n = node();
    const r = await cut(n.sb, run(n.node.processEnv), at, when, dry);
    assert.notEqual(r.code, 0);
    return n;
  }

  test("inside apt-get install (a maintainer script): dpkg's journal is finished first, then the install", async () => {
    const { node: n } = await cutPrepare(/^systemctl enable --now containerd$/, "before");
    assert.ok(readdirSync(path.join(n.root, "var/lib/dpkg/updates")).length > 0, "dpkg was cut off");
    const r = await n.run("k8s-node/prepare.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /an interrupted package installation is finished first \(dpkg --configure -a\)/);
    assert.deepEqual(readdirSync(path.join(n.root, "var/lib/dpkg/updates")), []);
    assert.equal(n.file("run/fake-systemd/containerd.cgroup"), "systemd\n");
    assert.deepEqual(n.held(), ["cri-tools", "kubeadm", "kubectl", "kubelet"]);
  });

  test("after the containerd config was written, before the restart: the restart still happens", async () => {
    const { node: n } = await cutPrepare(/^systemctl restart containerd$/, "before");
    assert.equal(n.file("run/fake-systemd/containerd.cgroup"), "cgroupfs\n", "cut before the restart");
    const r = await n.run("k8s-node/prepare.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(n.file("run/fake-systemd/containerd.cgroup"), "systemd\n", "kubelet and containerd agree");
    assert.ok(!existsSync(path.join(n.root, "etc/tartlab/containerd-restart")));
  });

  test("while the containerd config is made: nothing is left in /etc/containerd but config.toml", async () => {
    const { node: n } = await cutPrepare(/^containerd config default$/, "after");
    const r = await n.run("k8s-node/prepare.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(path.join(n.root, "etc/containerd")), ["config.toml"]);
  });
});
