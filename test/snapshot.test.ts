/**
 * Lab snapshots (mac/snapshot.ts, ops/snapshot.ts) against the stateful fake `tart` (test/fakes/tart: clone of a
 * local VM with Tart's MAC rule, rename, config.json's macAddress, DHCP keyed by MAC, Tart's Size) and a fake
 * Kubernetes API for the Ready checks. A VM's disk is its fake guest tree (<vm>/guest/), which a clone copies: a
 * "broken" node is a file written there. Effects are read from the fake's state and ~/.tartlab.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { stringify } from "yaml";
import { LabConfig, validateLabConfig } from "../lib/lab-config";
import { startLab } from "../mac/lab-power";
import {
  SnapshotOptions,
  deleteSnapshot,
  listSnapshots,
  restoreSnapshot,
  saveSnapshot,
} from "../mac/snapshot";
import { parseManifest, snapshotVmName } from "../lib/snapshot-manifest";
import { main } from "../ops/snapshot";
import { FakeK8sApi, healthyCluster, startFakeK8sApi } from "./harness/fake-k8s-api";
import { QUICK_MAC, Sandbox } from "./harness/shell";
import { tartEnv, tartSandbox } from "./harness/tart-mac";
import { DEV_PAIR, asStackConfig } from "./harness/stacks";

const STACK_NAME = "test";
const OWNER = `tartlab/${STACK_NAME}`;
const VMS = ["dev-master", "dev-worker1"];
/** Snapshot `name` of this test's stack. */
const at = (name: string) => ({ owner: OWNER, stack: STACK_NAME, name });

const STACK = DEV_PAIR;
const config = validateLabConfig(STACK).config;

let sb: Sandbox;
let api: FakeK8sApi;
let project: string;
beforeEach(async () => {
  sb = tartSandbox();
  // pulumi stack export prints the state file; import replaces it with the file given.
  sb.fake(
    "pulumi",
    `case "$1 $2" in
  "stack export") cat "$FAKE_PULUMI_STATE" ;;
  "stack import") cp "$6" "$FAKE_PULUMI_STATE" ;;
  *) echo "fake pulumi: $*" >&2; exit 64 ;;
esac`,
  );
  writeFileSync(path.join(sb.dir, "pulumi-state.json"), '{"deployment":{"resources":["saved"]}}\n');
  api = await startFakeK8sApi(healthyCluster(VMS));
  // Tart's home: the fake keeps its VMs in <sandbox>/tart, which is $TART_HOME/vms.
  mkdirSync(path.join(sb.dir, "tart"), { recursive: true });
  mkdirSync(path.join(sb.dir, "tarthome"));
  symlinkSync(path.join(sb.dir, "tart"), path.join(sb.dir, "tarthome", "vms"));
  project = path.join(sb.dir, "project");
  mkdirSync(project);
  writeFileSync(path.join(project, "Pulumi.yaml"), "name: tartlab\nruntime: nodejs\n");
  writeStack(STACK);
  record("kube/dev.yaml", api.kubeconfig("dev"));
  record("clusters/dev.json", JSON.stringify({ kubernetesVersion: "1.34", nodes: {} }));
});
afterEach(async () => {
  await api.close();
  sb.dispose();
});

const writeStack = (stack: object) =>
  writeFileSync(path.join(project, `Pulumi.${STACK_NAME}.yaml`), stringify({ config: asStackConfig(stack) }));
const lab = (...p: string[]) => path.join(sb.home, ".tartlab", ...p);
function record(rel: string, text: string) {
  mkdirSync(path.dirname(lab(rel)), { recursive: true });
  writeFileSync(lab(rel), text);
}
const read = (file: string) => readFileSync(file, "utf8").trim();
const tartDir = (vm: string) => path.join(sb.dir, "tart", vm);
const vmFile = (vm: string, f: string) => read(path.join(tartDir(vm), f));
const macOf = (vm: string) =>
  (JSON.parse(readFileSync(path.join(tartDir(vm), "config.json"), "utf8")) as { macAddress: string })
    .macAddress;
const broken = (vm: string) => existsSync(path.join(tartDir(vm), "guest", "broken"));
const snap = (name: string, vm: string, stack = STACK_NAME) => snapshotVmName(stack, name, vm);
const vmExists = (vm: string) => existsSync(tartDir(vm));

/** A stopped Tart VM as Tart keeps it (config.json with its MAC), owner-marked with `marker` when given. */
function vm(name: string, mac: string, marker?: string) {
  mkdirSync(path.join(tartDir(name), "guest", "etc"), { recursive: true });
  for (const [f, v] of Object.entries({
    state: "stopped",
    disk: "25",
    cpu: "2",
    memory: "4096",
    size: "7",
  })) {
    writeFileSync(path.join(tartDir(name), f), `${v}\n`);
  }
  writeFileSync(
    path.join(tartDir(name), "config.json"),
    JSON.stringify({ version: 1, os: "linux", arch: "arm64", cpuCount: 2, macAddress: mac }, null, 2),
  );
  if (marker) record(`vms/${name}.owner`, `${marker}\n`);
}

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...tartEnv(sb),
  TART_HOME: path.join(sb.dir, "tarthome"),
  FAKE_TART_DHCP: "1",
  FAKE_PULUMI_STATE: path.join(sb.dir, "pulumi-state.json"),
  ...QUICK_MAC,
  ...extra,
});
const POWER = { readySeconds: 10, readyPollMs: 200, probeTimeoutMs: 2000, gracefulSeconds: 10 };
let progress: string[] = [];
const opts = (extra: Record<string, string> = {}, more: Partial<SnapshotOptions> = {}): SnapshotOptions => {
  progress = [];
  return {
    env: env(extra),
    dir: project,
    power: POWER,
    tartTimeoutMs: 20_000,
    progress: (l) => progress.push(l),
    ...more,
  };
};

/** The lab running, with its addresses recorded as pulumi up records them. */
async function runningLab() {
  vm("dev-master", "aa:00:00:00:00:01", OWNER);
  vm("dev-worker1", "aa:00:00:00:00:02", OWNER);
  const r = await startLab(config, OWNER, { ...POWER, env: env() });
  assert.equal(r.ok, true, JSON.stringify(r.vms));
  for (const name of VMS) record(`vms/${name}.ip`, `${vmFile(name, "ip")}\n`);
}

async function saved(name = "s1") {
  await runningLab();
  const r = await saveSnapshot(config, at(name), opts());
  assert.equal(r.ok, true, r.message);
}

const changes = () => sb.calls().filter((c) => /^tart (clone|rename|delete|stop|run|set) /.test(c));

describe("npm run snapshot (mac/snapshot.ts)", () => {
  test("save: the stopped VMs are cloned to marked snapshot VMs, the manifest is private, the lab is Ready again", async () => {
    await runningLab();
    const r = await saveSnapshot(config, at("s1"), opts());
    assert.equal(r.ok, true, r.message);
    for (const name of VMS) {
      const s = snap("s1", name);
      assert.equal(vmFile(s, "state"), "stopped");
      assert.equal(vmFile(s, "source"), name);
      assert.ok(
        !existsSync(path.join(tartDir(s), "cloned_while_running")),
        `${name} was cloned while stopped`,
      );
      assert.equal(read(lab("vms", `${s}.owner`)), `${OWNER} snapshot`);
      assert.notEqual(macOf(s), macOf(name), "Tart gave the clone a MAC of its own");
      assert.equal(vmFile(name, "state"), "running");
      assert.equal(
        vmFile(name, "stopped_by"),
        "guest",
        `${name} was powered off gracefully before its clone`,
      );
      assert.ok(
        progress.some((l) => l.startsWith(`${name}  cloning to ${s}`)),
        "a progress line per VM",
      );
    }
    const dir = lab("snapshots", STACK_NAME, "s1");
    const file = path.join(dir, "manifest.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(dir, "pulumi-state.json")).mode & 0o777, 0o600);
    assert.equal(read(path.join(dir, "pulumi-state.json")), read(path.join(sb.dir, "pulumi-state.json")));
    const m = parseManifest(readFileSync(file, "utf8"), file);
    assert.deepEqual(
      m.vms.map((v) => [v.name, v.mac, v.ip]),
      VMS.map((n) => [n, macOf(n), read(lab("vms", `${n}.ip`))]),
    );
    assert.equal(m.records["kube/dev.yaml"], api.kubeconfig("dev"));
    assert.ok(m.records["clusters/dev.json"]);
    assert.equal(m.pulumiState, true);
  });

  test("restore: the snapshot's disks under the VM names, with their saved MACs and addresses, Ready, state imported", async () => {
    await saved();
    const macs = VMS.map(macOf);
    const ips = VMS.map((n) => vmFile(n, "ip"));
    // Break a node and the records after the save.
    writeFileSync(path.join(tartDir("dev-worker1"), "guest", "broken"), "");
    record("clusters/dev.json", JSON.stringify({ kubernetesVersion: "1.35", nodes: {} }));
    writeFileSync(path.join(sb.dir, "pulumi-state.json"), '{"deployment":{"resources":["later"]}}\n');
    const r = await restoreSnapshot(config, at("s1"), opts());
    assert.equal(r.ok, true, r.message);
    assert.equal(broken("dev-worker1"), false, "the node is back as saved");
    assert.deepEqual(VMS.map(macOf), macs, "each VM has its saved MAC again");
    assert.deepEqual(
      VMS.map((n) => vmFile(n, "ip")),
      ips,
      "DHCP handed out the saved addresses",
    );
    for (const name of VMS) {
      assert.equal(vmFile(name, "state"), "running");
      assert.equal(vmFile(name, "source"), snap("s1", name), "cloned from its snapshot VM");
      assert.equal(read(lab("vms", `${name}.owner`)), OWNER);
      assert.equal(vmExists(snap("s1", name)), true, "the snapshot stays");
      assert.ok(
        progress.some((l) => l.startsWith(`${name}  cloning from`)),
        "a progress line per VM",
      );
    }
    assert.deepEqual(
      sb.calls().filter((c) => c.startsWith("tart delete")),
      VMS.map((n) => `tart delete tartlab-restore--${STACK_NAME}--${n}`),
      "only the set-aside VMs were deleted, after the restored lab was Ready",
    );
    assert.match(read(lab("clusters", "dev.json")), /"1\.34"/, "the version record is the saved one");
    assert.match(
      read(path.join(sb.dir, "pulumi-state.json")),
      /saved/,
      "pulumi stack import of the saved state",
    );
  });

  test("restore refuses when the lab's config differs from the snapshot's (names the keys), unless --force", async () => {
    await saved();
    writeFileSync(path.join(tartDir("dev-worker1"), "guest", "broken"), "");
    const resized = validateLabConfig({
      ...STACK,
      clusters: [
        {
          ...STACK.clusters[0],
          nodes: [STACK.clusters[0].nodes[0], { ...STACK.clusters[0].nodes[1], cpus: 4 }],
        },
      ],
    }).config as LabConfig;
    const before = changes().length;
    const r = await restoreSnapshot(resized, at("s1"), opts());
    assert.equal(r.ok, false);
    assert.match(r.message, /tartlab:clusters/);
    assert.match(r.message, /clusters\[dev\]\.nodes\[dev-worker1\]\.cpus: 2 -> 4/);
    assert.match(r.message, /pulumi up afterwards would reconcile/);
    assert.equal(changes().length, before, "nothing was touched");
    assert.equal(broken("dev-worker1"), true);
    const forced = await restoreSnapshot(resized, at("s1"), opts({}, { force: true }));
    assert.equal(forced.ok, true, forced.message);
    assert.equal(broken("dev-worker1"), false);
  });

  test("a save that fails in the middle deletes its partial clones and leaves the lab running and Ready", async () => {
    await runningLab();
    const fail = snap("s1", "dev-worker1");
    const r = await saveSnapshot(config, at("s1"), opts({ FAKE_TART_CLONE_FAIL: fail }));
    assert.equal(r.ok, false);
    assert.match(r.message, /No space left on device/);
    assert.match(r.message, /started again and is Ready/);
    assert.equal(vmExists(snap("s1", "dev-master")), false, "the partial clone is gone");
    assert.equal(existsSync(lab("vms", `${snap("s1", "dev-master")}.owner`)), false);
    assert.equal(existsSync(lab("snapshots", STACK_NAME, "s1")), false, "no manifest");
    for (const name of VMS) assert.equal(vmFile(name, "state"), "running");
  });

  test("a restore that fails in the middle puts the lab's own VMs back, running as they were", async () => {
    await saved();
    const macs = VMS.map(macOf);
    writeFileSync(path.join(tartDir("dev-worker1"), "guest", "broken"), "");
    record("clusters/dev.json", "later\n");
    const r = await restoreSnapshot(config, at("s1"), opts({ FAKE_TART_CLONE_FAIL: "dev-worker1" }));
    assert.equal(r.ok, false);
    assert.match(r.message, /restore failed: tart clone .* dev-worker1: .*No space left/);
    assert.match(r.message, /started again and is Ready, as it was/);
    assert.equal(broken("dev-worker1"), true, "the lab's own (broken) disk is back");
    assert.deepEqual(VMS.map(macOf), macs);
    for (const name of VMS) {
      assert.equal(vmFile(name, "state"), "running");
      assert.equal(vmExists(`tartlab-restore--${STACK_NAME}--${name}`), false);
      assert.equal(read(lab("vms", `${name}.owner`)), OWNER);
    }
    assert.equal(read(lab("clusters", "dev.json")), "later", "the records are the lab's, not the snapshot's");
  });

  test("delete removes only this stack's snapshot VMs of that name: other snapshots, stacks and VMs stay", async () => {
    await saved();
    const r2 = await saveSnapshot(config, at("s2"), opts());
    assert.equal(r2.ok, true, r2.message);
    vm(snap("s1", "dev-master", "other"), "aa:00:00:00:00:09", "tartlab/other snapshot");
    vm(snap("s1", "intruder"), "aa:00:00:00:00:0a"); // named like ours, not marked
    vm("my-vm", "aa:00:00:00:00:0b");
    const r = await deleteSnapshot(at("s1"), opts());
    assert.equal(r.ok, false, "it says what it left");
    assert.match(r.message, /intruder: not marked as a snapshot of tartlab\/test; left alone/);
    for (const name of VMS) {
      assert.equal(vmExists(snap("s1", name)), false);
      assert.equal(vmExists(snap("s2", name)), true);
      assert.equal(vmFile(name, "state"), "running");
    }
    assert.equal(vmExists(snap("s1", "dev-master", "other")), true);
    assert.equal(vmExists(snap("s1", "intruder")), true);
    assert.equal(vmExists("my-vm"), true);
    assert.equal(existsSync(lab("snapshots", STACK_NAME, "s2", "manifest.json")), true);
  });

  test("npm run snapshot -- list: each snapshot with its age and Tart's size of its VMs; delete through the CLI", async () => {
    await saved();
    writeFileSync(path.join(tartDir(snap("s1", "dev-worker1")), "size"), "9\n");
    const m = parseManifest(
      readFileSync(lab("snapshots", STACK_NAME, "s1", "manifest.json"), "utf8"),
      "manifest.json",
    );
    const rows = await listSnapshots(STACK_NAME, opts());
    assert.deepEqual(rows, [{ name: "s1", createdAt: m.createdAt, vms: 2, sizeGb: 7 + 9, problems: [] }]);
    let out = "";
    let err = "";
    const io = { env: env(), out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
    const now = () => Date.parse(m.createdAt) + 3 * 3600_000;
    assert.equal(await main(["list", "--stack", STACK_NAME, "--dir", project], io, { now }), 0, err);
    assert.match(out, /^s1\s+3h\s+2\s+16 GB$/m);
    assert.equal(await main(["save", "--stack", STACK_NAME, "--dir", project], io), 2);
    assert.match(err, /save needs a snapshot name/);
    assert.equal(
      await main(["delete", "s1", "--stack", STACK_NAME, "--dir", project], io, { tartTimeoutMs: 20_000 }),
      0,
      err,
    );
    assert.equal(vmExists(snap("s1", "dev-master")), false);
  });

  test("what a cut-off save or restore leaves is listed or refused, with the commands to run", async () => {
    await saved();
    rmSync(lab("snapshots", STACK_NAME, "s1"), { recursive: true });
    const rows = await listSnapshots(STACK_NAME, opts());
    assert.deepEqual(
      rows.map((r) => [r.name, r.vms, r.problems.join()]),
      [["s1", 2, `no manifest (an interrupted save): tartlab snapshot delete s1 --stack ${STACK_NAME}`]],
    );
    const d = await deleteSnapshot(at("s1"), opts());
    assert.equal(d.ok, true, d.message);
    for (const name of VMS) assert.equal(vmExists(snap("s1", name)), false);
    await saveSnapshot(config, at("s2"), opts());
    const backup = `tartlab-restore--${STACK_NAME}--dev-worker1`;
    vm(backup, "aa:00:00:00:00:02", `${OWNER} restore-backup`);
    const before = changes().length;
    const r = await restoreSnapshot(config, at("s2"), opts());
    assert.equal(r.ok, false);
    assert.match(r.message, new RegExp(`tart delete dev-worker1; tart rename ${backup} dev-worker1`));
    assert.equal(changes().length, before, "nothing was touched");
  });
});
