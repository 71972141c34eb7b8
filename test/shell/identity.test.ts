/**
 * A remote script runs only on the VM it is meant for. Every remote Command's bundle (lib/shell.ts,
 * ScriptSpec.vm) checks the guest's identity marker (/etc/tartlab/vm-name, written by address.sh through
 * `tart exec`) before either action: a DHCP address now held by another VM runs nothing there. The bundles run
 * here are the ones the components record under mocks, on fake nodes whose effects are checked.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { VM_NAME_MARKER, WRONG_VM_EXIT, bundle } from "../../lib/shell";
import { NASTY_VALUES } from "../fixtures/nasty";
import { fakeNode } from "../harness/node";
import { Recorder, runLab, unwrap } from "../harness/pulumi";
import { Sandbox, sandbox, sandboxesPerTest } from "../harness/shell";

const FIX = /its address now belongs to another machine; run pulumi up again, which follows the VM's address/;

let rec: Recorder;
before(async () => {
  rec = (await runLab()).recorder;
});
const stdinOf = (name: string): string => unwrap(rec.byName(name).inputs.stdin);

const fresh = sandboxesPerTest();

/** Writes (or, with undefined, removes) a fake machine's identity marker, as address.sh would. */
function marker(root: string, vm: string | undefined) {
  const file = path.join(root, VM_NAME_MARKER);
  if (vm === undefined) return rmSync(file, { force: true });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${vm}\n`, { mode: 0o644 });
}

describe("identity check, create: dev-worker1's node identity step (identity.sh sets the hostname)", () => {
  test("on dev-worker1 it runs", async () => {
    const node = fakeNode(fresh(), { vm: "dev-worker1" });
    const r = await node.runBundle("k8s-node/identity.sh", stdinOf("dev-worker1-identity"));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(node.file("etc/hostname"), "dev-worker1\n");
  });

  for (const [what, held, says] of [
    ["another VM (dev-master) now holds the address", "dev-master", /vm-name says "dev-master"/],
    ["a machine without a marker holds the address", undefined, /there is no \S+\/etc\/tartlab\/vm-name/],
    ["a marker naming a VM whose name starts the same", "dev-worker10", /says "dev-worker10"/],
  ] as const) {
    test(`${what}: nothing runs, and the message names the VM, what was found and the fix`, async () => {
      const node = fakeNode(fresh(), { vm: held });
      const r = await node.runBundle("k8s-node/identity.sh", stdinOf("dev-worker1-identity"));
      assert.equal(r.code, WRONG_VM_EXIT);
      assert.equal(node.file("etc/hostname"), "ubuntu\n", "the hostname is untouched");
      assert.deepEqual(r.calls, [], "no tool was called");
      assert.match(r.stderr, /refused to run create here: this step is meant for VM "dev-worker1"/);
      assert.match(r.stderr, says);
      assert.match(r.stderr, FIX);
      assert.equal(r.stdout, "");
    });
  }
});

describe("identity check, delete: dev's member step for dev-worker1 (runs on dev-master; delete removes the Node)", () => {
  const NODES = "dev-master\ndev-worker1\n";
  /** A kubectl over a node list in a file: get/drain/delete act on it. */
  const KUBECTL = `nodes="$FAKE_CALLS.nodes"
case "$1" in
  get) grep -qx "$3" "$nodes" || { echo "Error from server (NotFound): nodes '$3' not found" >&2; exit 1; }; echo "$3" ;;
  drain) : ;;
  delete) grep -vx "$3" "$nodes" >"$nodes.new" || true; mv "$nodes.new" "$nodes" ;;
esac`;
  const member = async (held: string | undefined) => {
    const sb = fresh();
    const root = path.join(sb.dir, "root");
    marker(root, held);
    sb.fake("kubectl", KUBECTL);
    writeFileSync(`${sb.dir}/calls.log.nodes`, NODES);
    const r = await sb.run({
      script: "kubeadm-cluster/member-remove.sh",
      deleteScript: "kubeadm-cluster/member-remove.sh",
      stdin: stdinOf("dev-dev-worker1-member"),
      action: "delete",
      env: {},
      processEnv: { TARTLAB_ROOT: root },
    });
    return { r, nodes: readFileSync(`${sb.dir}/calls.log.nodes`, "utf8") };
  };

  test("on dev-master the worker's Node is removed", async () => {
    const { r, nodes } = await member("dev-master");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(nodes, "dev-master\n");
  });

  for (const held of ["dev-worker1", undefined]) {
    test(`on ${held ?? "a machine without a marker"}: nothing runs, the Node list is unchanged`, async () => {
      const { r, nodes } = await member(held);
      assert.equal(r.code, WRONG_VM_EXIT);
      assert.equal(nodes, NODES);
      assert.deepEqual(r.calls, []);
      assert.match(r.stderr, /refused to run delete here: this step is meant for VM "dev-master"/);
      assert.match(r.stderr, FIX);
    });
  }
});

describe("the VM name travels through the one quoting helper (T01)", () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
  });
  after(() => sb.dispose());

  for (const [key, name] of Object.entries(NASTY_VALUES).filter(
    // Not empty (refused below), not ending in a newline (the marker's own line end; VM names have none).
    ([, v]) => v.trim() !== "" && !v.endsWith("\n"),
  )) {
    test(`a VM named like ${key}: runs where the marker holds exactly that name, nowhere else`, () => {
      const root = path.join(sb.dir, key);
      const out = path.join(root, "ran");
      const text = bundle(
        { create: 'echo create >>"$OUT"\n', delete: 'echo delete >>"$OUT"\n' },
        { OUT: out },
        name,
      );
      // Plain bash, no script file: nothing here belongs in a script's line-coverage trace.
      const runAs = (action: "create" | "delete") =>
        spawnSync("bash", ["-s", "--", action], {
          input: text,
          encoding: "utf8",
          env: { PATH: process.env.PATH, TARTLAB_ROOT: root },
        });
      // Any difference refuses, even one character more.
      marker(root, `${name}x`);
      for (const action of ["create", "delete"] as const) assert.equal(runAs(action).status, WRONG_VM_EXIT);
      marker(root, name);
      for (const action of ["create", "delete"] as const) assert.equal(runAs(action).status, 0);
      assert.equal(readFileSync(out, "utf8"), "create\ndelete\n");
    });
  }

  test("an empty VM name is refused when the bundle is made (an absent marker would match it)", () => {
    assert.throws(() => bundle({ create: "true\n" }, {}, ""), /empty VM name/);
  });
});
