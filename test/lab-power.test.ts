/**
 * `npm run stop` / `npm run start` against the fake `tart` (test/fakes/tart: `tart run` loops, guest
 * poweroff through `tart exec`, hangs and failures on request) and a fake Kubernetes API for the Ready check.
 * Effects are read from the fake's state: a VM's state and how it last stopped (<vm>/stopped_by: guest | forced).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { stringify } from "yaml";
import { validateLabConfig } from "../lib/lab-config";
import { startLab, stopLab } from "../mac/lab-power";
import { stackOwner } from "../mac/home";
import { main } from "../ops/lab";
import { FakeK8sApi, healthyCluster, startFakeK8sApi } from "./harness/fake-k8s-api";
import { QUICK_MAC, Sandbox } from "./harness/shell";
import { tartEnv, tartSandbox, tartVm } from "./harness/tart-mac";
import { DEV_PAIR, asStackConfig, rawCluster } from "./harness/stacks";

const ROOT = path.join(__dirname, "..");
const OWNER = "tartlab/test";

const STACK = DEV_PAIR;
const config = validateLabConfig(STACK).config;

let sb: Sandbox;
let api: FakeK8sApi;
beforeEach(async () => {
  sb = tartSandbox();
  api = await startFakeK8sApi(healthyCluster(["dev-master", "dev-worker1"]));
  const kube = path.join(sb.home, ".tartlab", "kube");
  mkdirSync(kube, { recursive: true });
  writeFileSync(path.join(kube, "dev.yaml"), api.kubeconfig("dev"), { mode: 0o600 });
});
afterEach(async () => {
  await api.close();
  sb.dispose();
});

const tartDir = (vm: string) => path.join(sb.dir, "tart", vm);
const state = (vm: string) => readFileSync(path.join(tartDir(vm), "state"), "utf8").trim();
const stoppedBy = (vm: string) =>
  existsSync(path.join(tartDir(vm), "stopped_by"))
    ? readFileSync(path.join(tartDir(vm), "stopped_by"), "utf8").trim()
    : "never";

/** A fake Tart VM in `state` (no `tart run` behind it), with an owner marker when `owner` is given. */
const vm = (name: string, vmState: string, owner?: string) =>
  tartVm(sb, name, { state: vmState, disk: 25 }, owner);

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...tartEnv(sb),
  ...QUICK_MAC,
  ...extra,
});
/** Waits until `cond` holds (what the code under test does next), failing after about 20 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}
const FAST = { readySeconds: 10, readyPollMs: 200, probeTimeoutMs: 2000, gracefulStopSeconds: 10 };
/** Calls that change a VM (the Ready check's read-only `tart get`/`tart ip` do not). */
const changesTo = (name: string) =>
  sb.calls().filter((c) => c.split(" ").includes(name) && !/^tart (list|get|ip) /.test(c));

/** Both VMs of this stack stopped, then started by `startLab` (real start.sh, real `tart run` loops). */
async function runningLab() {
  vm("dev-master", "stopped", OWNER);
  vm("dev-worker1", "stopped", OWNER);
  const r = await startLab(config, OWNER, { ...FAST, env: env() });
  assert.equal(r.ok, true, JSON.stringify(r.vms));
  return r;
}

describe("npm run start / stop (mac/lab-power.ts)", () => {
  test("start: this stack's stopped VMs run again (same start.sh as pulumi up's revive), then the lab is Ready", async () => {
    const r = await runningLab();
    assert.deepEqual(
      r.vms.map((v) => [v.name, v.action]),
      [
        ["dev-master", "started"],
        ["dev-worker1", "started"],
      ],
    );
    assert.equal(state("dev-master"), "running");
    assert.equal(state("dev-worker1"), "running");
    assert.equal(r.status?.healthy, true);
    assert.ok(api.requests.includes("/api/v1/nodes"), "the Ready check asked the API server");
    assert.equal(sb.calls().filter((c) => c.startsWith("tart run")).length, 2);
  });

  test("stop: graceful first (guest poweroff through tart exec), every VM of the stack", async () => {
    await runningLab();
    const r = await stopLab(config, OWNER, { ...FAST, env: env() });
    assert.equal(r.ok, true, JSON.stringify(r.vms));
    for (const name of ["dev-master", "dev-worker1"]) {
      assert.equal(state(name), "stopped");
      assert.equal(stoppedBy(name), "guest", `${name} powered itself off`);
    }
    assert.deepEqual(
      r.vms.map((v) => [v.name, v.action]),
      [
        ["dev-master", "stopped"],
        ["dev-worker1", "stopped"],
      ],
    );
    assert.match(r.vms[0].detail, /stopped VM "dev-master" \(guest powered off\)/);
    assert.ok(!sb.calls().some((c) => c.startsWith("tart stop")), "no hard power-off needed");
    // Again: nothing left to stop.
    const again = await stopLab(config, OWNER, { ...FAST, env: env() });
    assert.deepEqual(
      again.vms.map((v) => v.action),
      ["already-stopped", "already-stopped"],
    );
  });

  test("stop: a guest that ignores the poweroff is forced off after the deadline", async () => {
    await runningLab();
    const names = ["dev-master", "dev-worker1"];
    // Both guest agents answer only once both poweroff requests are out: stopping one VM after the other would
    // never get there.
    for (const name of names) writeFileSync(path.join(tartDir(name), "agent_hung"), "");
    const stopping = stopLab(config, OWNER, {
      ...FAST,
      gracefulStopSeconds: 0,
      guestExecSeconds: 60,
      env: env({ FAKE_TART_GUEST_IGNORES_POWEROFF: "1" }),
    });
    const asked = (name: string) => sb.calls().some((c) => c.startsWith(`tart exec ${name} `));
    await until("both poweroff requests (VMs are stopped in parallel)", () => names.every(asked));
    for (const name of names) rmSync(path.join(tartDir(name), "agent_hung"));
    const r = await stopping;
    assert.equal(r.ok, true, JSON.stringify(r.vms));
    for (const name of names) {
      assert.equal(state(name), "stopped");
      assert.equal(stoppedBy(name), "forced");
    }
    // stop.sh's graceful deadline (0 s: one look at the VM) passed before the forced stop.
    assert.match(r.vms[0].detail, /still running 0s after the guest poweroff.*forcing it off with tart stop/);
  });

  test("stop and start never touch other stacks' VMs, foreign VMs or VMs outside the config", async () => {
    const wide = validateLabConfig({
      ...STACK,
      clusters: [STACK.clusters[0], rawCluster("qa", "10.30.0.0/16", "10.98.0.0/16")],
    }).config;
    vm("dev-master", "running", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    vm("qa-master", "running", "tartlab/other"); // same name, another stack made it
    vm("qa-worker1", "running"); // no marker: not made by tartlab
    vm("unrelated", "running", OWNER); // ours by marker, but not in this config
    const stop = await stopLab(wide, OWNER, { ...FAST, gracefulStopSeconds: 0, env: env() });
    assert.deepEqual(
      stop.vms.map((v) => [v.name, v.action, v.detail]),
      [
        ["dev-master", "stopped", stop.vms[0].detail],
        ["dev-worker1", "already-stopped", "is stopped"],
        ["qa-master", "not-ours", "left alone: made by stack tartlab/other, not tartlab/test"],
        ["qa-worker1", "not-ours", "left alone: not made by tartlab (no owner marker)"],
      ],
    );
    assert.equal(state("dev-master"), "stopped");
    for (const name of ["qa-master", "qa-worker1", "unrelated"]) {
      assert.equal(state(name), "running", name);
      assert.deepEqual(changesTo(name), [], `${name}: no tart call changes it`);
    }

    vm("qa-master", "stopped", "tartlab/other");
    vm("qa-worker1", "stopped");
    vm("unrelated", "stopped", OWNER);
    const start = await startLab(wide, OWNER, { ...FAST, env: env() });
    assert.equal(start.ok, false, "the lab cannot be Ready with VMs that are not ours");
    for (const name of ["qa-master", "qa-worker1", "unrelated"]) {
      assert.equal(state(name), "stopped", name);
      assert.deepEqual(changesTo(name), [], `${name}: no tart call changes it`);
    }
    assert.equal(state("dev-master"), "running");
  });

  test("a VM that cannot be stopped fails the stop; one that cannot start fails the start", async () => {
    vm("dev-master", "running", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    const stop = await stopLab(config, OWNER, {
      ...FAST,
      env: env({ FAKE_TART_EXEC_FAIL: "1", FAKE_TART_STOP_FAIL: "1" }),
    });
    assert.equal(stop.ok, false);
    assert.equal(stop.vms[0].action, "failed");
    assert.match(stop.vms[0].detail, /still running after a guest poweroff and tart stop/);
    assert.equal(state("dev-master"), "running");

    const start = await startLab(config, OWNER, { ...FAST, env: env({ FAKE_TART_RUN_FAIL: "1" }) });
    assert.equal(start.ok, false);
    assert.match(start.vms.at(-1)!.detail, /^was stopped; could not be started again: .*tart run exited/);
  });

  test("start: a lab that is not Ready by the deadline fails, with its status", async () => {
    api.state.nodes[1].ready = false;
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    const t0 = Date.now();
    const r = await startLab(config, OWNER, { ...FAST, readySeconds: 0, env: env() });
    assert.equal(r.ok, false);
    assert.ok(Date.now() - t0 < 15_000);
    assert.equal(r.status?.healthy, false);
    assert.equal(state("dev-master"), "running");
  });

  test("progress: a line per VM as it goes; start carries on past a VM that fails and says which did not start", async () => {
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    let t = -5_000;
    const lines: string[] = [];
    const start = await startLab(config, OWNER, {
      ...FAST,
      env: env({ FAKE_TART_RUN_FAIL: "dev-master" }),
      progress: (l) => lines.push(l),
      now: () => (t += 5_000), // 5 s further at every reading
    });
    assert.equal(start.ok, false);
    assert.deepEqual(lines, [
      "dev-master: starting (was stopped)",
      "dev-master: failed after 5s",
      "dev-worker1: starting (was stopped)",
      "dev-worker1: running at 192.168.64.10 (5s)",
    ]);
    assert.deepEqual(
      start.vms.map((v) => [v.name, v.action]),
      [
        ["dev-master", "failed"],
        ["dev-worker1", "started"],
      ],
    );
    assert.equal(state("dev-worker1"), "running", "the VM after the failing one was started");

    // Stop runs the VMs in parallel: one clock reading before, one per VM after.
    let reading = 0;
    const stopLines: string[] = [];
    const stop = await stopLab(config, OWNER, {
      ...FAST,
      env: env(),
      progress: (l) => stopLines.push(l),
      now: () => (reading++ === 0 ? 0 : 3_000),
    });
    assert.equal(stop.ok, true, JSON.stringify(stop.vms));
    assert.deepEqual(stopLines, ["dev-worker1: stopping", "dev-worker1: stopped (3s)"]);
    assert.deepEqual(
      stop.vms.map((v) => v.action),
      ["already-stopped", "stopped"],
    );
  });

  test("the owner is <project>/<stack>, as program.ts records it", () => {
    assert.equal(stackOwner(ROOT, "small"), "tartlab/small");
  });
});

describe("ops/lab.ts exit codes", () => {
  /** A project directory with Pulumi.yaml and the stack file of stack "test". */
  function project() {
    const dir = path.join(sb.dir, "project");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "Pulumi.yaml"), "name: tartlab\nruntime: nodejs\n");
    writeFileSync(path.join(dir, "Pulumi.test.yaml"), stringify({ config: asStackConfig(STACK) }));
    return dir;
  }
  /** ops/lab.ts's main in this process (a process start per case made these tests slow). */
  async function cli(args: string[], extra: Record<string, string> = {}) {
    let out = "";
    const io = { env: env(extra), out: (t: string) => (out += t), err: (t: string) => (out += t) };
    const code = await main([...args, "--dir", project()], io);
    return { code, out };
  }
  /** ops/lab.ts as `npm run stop|start` runs it: main's code is the process's exit code. */
  function cliProcess(args: string[], extra: Record<string, string> = {}) {
    return new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, "ops/lab.ts"), ...args, "--dir", project()],
        { env: env(extra), cwd: ROOT },
      );
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
  }

  test("0 when stopped, 1 when a VM stays running, 2 on bad usage or an unknown stack", async () => {
    vm("dev-master", "running", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    const failed = await cliProcess(["stop", "--stack", "test"], {
      FAKE_TART_EXEC_FAIL: "1",
      FAKE_TART_STOP_FAIL: "1",
    });
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.out, /dev-master\s+failed/);
    const ok = await cli(["stop", "--stack", "test"], { FAKE_TART_EXEC_FAIL: "1" });
    assert.equal(ok.code, 0, ok.out);
    assert.equal(stoppedBy("dev-master"), "forced");
    assert.equal((await cli(["stop", "--stack", "nope"])).code, 2);
    assert.equal((await cli(["pause", "--stack", "test"])).code, 2);
    assert.equal((await cli(["stop", "--timeout", "soon"])).code, 2);
    assert.equal((await cli(["stop", "--timeout", "-1"])).code, 2);
  });

  test("start: 0 when Ready, 1 when not Ready within --timeout", async () => {
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    const ok = await cli(["start", "--stack", "test", "--timeout", "20"]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /stack test is Ready/);
    assert.match(ok.out, /^running: dev-master, dev-worker1; not started: none$/m);
    assert.match(ok.out, /^dev-master: starting \(was stopped\)$/m, "a progress line per VM");
    api.state.nodes[0].ready = false;
    // --timeout 0: one Ready check, no wait.
    const notReady = await cli(["start", "--stack", "test", "--timeout", "0"]);
    assert.equal(notReady.code, 1, notReady.out);
    assert.match(notReady.out, /stack test is not Ready/);
  });
});
