import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { loadScript } from "../../lib/shell";
import { QUICK_MAC, Sandbox, SandboxState, sandbox } from "../harness/shell";

const OWNER = "tartlab/dev";
const cloneEnv = { VM_NAME: "dev-master", BASE_IMAGE: "ghcr.io/cirruslabs/ubuntu:24.04", OWNER };
const startEnv = {
  VM_NAME: "dev-master",
  CPUS: "2",
  MEMORY_MB: "4096",
  DISK_GB: "30",
  SOFTNET_ALLOW: "0.0.0.0/0",
  // The smallest tartlab:ipWaitSeconds lib/lab-config.ts accepts. A test that needs the deadline to pass gives 0:
  // the same path, after one look instead of 10 s of them.
  IP_WAIT_SECONDS: "10",
  STOP_SCRIPT: loadScript("tart-vm/stop.sh"),
  GRACEFUL_STOP_SECONDS: "10",
};

// One sandbox, brought back to its fresh state before each test (a sandbox per test cost more than most tests).
let sb: Sandbox;
let fresh: SandboxState;
before(() => {
  sb = sandbox();
  sb.useFake("tart");
  sb.fake("softnet", "exit 0");
  fresh = sb.save();
});
beforeEach(() => sb.restore(fresh));
after(() => sb.dispose());

const tartState = (vm: string, file: string) =>
  readFileSync(path.join(sb.dir, "tart", vm, file), "utf8").trim();
const clone = (env = cloneEnv) =>
  sb.run({ script: "tart-vm/clone.sh", deleteScript: "tart-vm/delete.sh", env, processEnv: QUICK_MAC });
const stopVm = (env: Record<string, string> = {}, processEnv?: Record<string, string>) =>
  sb.run({
    script: "tart-vm/start.sh",
    deleteScript: "tart-vm/stop.sh",
    action: "delete",
    env: { ...startEnv, ...env },
    processEnv: { ...QUICK_MAC, ...processEnv },
  });
/** The fake calls made after the first one that starts with `prefix`. */
const callsAfter = (prefix: string) => {
  const calls = sb.calls();
  const i = calls.findIndex((c) => c.startsWith(prefix));
  return i < 0 ? [] : calls.slice(i + 1);
};
/** Waits until `cond` holds (what a script under test does next), failing after about 10 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}
/** A VM's state as `tart list --format json` reports it ("absent" when not listed). */
const listState = (vm: string) => {
  const out = execFileSync(path.join(sb.bin, "tart"), ["list", "--source", "local", "--format", "json"], {
    encoding: "utf8",
    env: {
      PATH: `${sb.bin}:/usr/bin:/bin`,
      FAKE_CALLS: path.join(sb.dir, "calls.log"),
      FAKE_TART_HOME: path.join(sb.dir, "tart"),
    },
  });
  return (JSON.parse(out) as { Name: string; State: string }[]).find((v) => v.Name === vm)?.State ?? "absent";
};
const deleteVm = () =>
  sb.run({
    script: "tart-vm/clone.sh",
    deleteScript: "tart-vm/delete.sh",
    action: "delete",
    env: cloneEnv,
    processEnv: QUICK_MAC,
  });
const start = (env: Record<string, string> = startEnv, processEnv?: Record<string, string>) =>
  sb.run({
    script: "tart-vm/start.sh",
    deleteScript: "tart-vm/stop.sh",
    env,
    processEnv: { ...QUICK_MAC, ...processEnv },
  });

const fixtures = new Map<string, SandboxState>();
/** The sandbox as `make` (the real scripts) leaves it: made by the first test that needs it, then restored. */
async function fixture(name: string, make: () => Promise<void>): Promise<void> {
  const saved = fixtures.get(name);
  if (saved) return sb.restore(saved);
  await make();
  fixtures.set(name, sb.save());
}
/** dev-master as clone.sh leaves it. */
const cloned = () =>
  fixture("cloned", async () => {
    const r = await clone();
    assert.equal(r.code, 0, r.stderr);
  });
/** dev-master as clone.sh, then start.sh leave it: running. */
const started = () =>
  fixture("started", async () => {
    await cloned();
    const r = await start();
    assert.equal(r.code, 0, r.stderr);
  });

describe("tart-vm/clone.sh", () => {
  test("fresh: clones the base image, gives it a random MAC, records ownership", async () => {
    const r = await clone();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").pop(), "dev-master");
    assert.deepEqual(
      r.calls.filter((c) => !c.startsWith("tart list")),
      ["tart clone ghcr.io/cirruslabs/ubuntu:24.04 dev-master", "tart set dev-master --random-mac"],
    );
    assert.ok(r.calls.includes("tart list --source local --format json"), "state read as JSON (T08)");
    assert.match(tartState("dev-master", "mac"), /^random-/);
    assert.equal(readFileSync(path.join(sb.home, ".tartlab/vms/dev-master.owner"), "utf8").trim(), OWNER);
  });

  test("already exists and not ours: refuses without cloning over it", async () => {
    mkdirSync(path.join(sb.dir, "tart", "dev-master"), { recursive: true });
    for (const [f, v] of Object.entries({ state: "stopped", disk: "50", cpu: "4", memory: "4096" })) {
      writeFileSync(path.join(sb.dir, "tart", "dev-master", f), v);
    }
    const r = await clone();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to create VM "dev-master": a VM with that name already exists/);
    assert.match(r.stderr, /tart delete dev-master/);
    assert.ok(
      !r.calls.some((c) => c.startsWith("tart clone") || c.startsWith("tart set")),
      r.calls.join("\n"),
    );
    assert.equal(tartState("dev-master", "disk"), "50", "the user's VM is untouched");
  });

  test("already exists and ours (re-run of an interrupted create): keeps it", async () => {
    assert.equal((await clone()).code, 0);
    const before = tartState("dev-master", "mac");
    const r = await clone();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tartState("dev-master", "mac"), before, "no second clone / MAC change");
    assert.equal(r.calls.filter((c) => c.startsWith("tart clone")).length, 1);
  });

  test("another stack's VM of the same name is not ours", async () => {
    assert.equal((await clone({ ...cloneEnv, OWNER: "tartlab/other" })).code, 0);
    const r = await clone();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /stack tartlab\/dev did not make it/);
  });
});

describe("tart-vm/start.sh", () => {
  test("fresh: sizes the stopped VM, starts it on softnet detached, prints only the IP", async () => {
    await cloned();
    const r = await start();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "192.168.64.10\n");
    const calls = r.calls.filter((c) => !c.startsWith("tart list") && !c.startsWith("tart ip"));
    assert.deepEqual(calls.slice(-4), [
      "tart get dev-master --format json",
      "tart set dev-master --cpu 2 --memory 4096",
      "tart set dev-master --disk-size 30",
      "tart run --no-graphics --net-softnet --net-softnet-allow=0.0.0.0/0 dev-master",
    ]);
    assert.equal(tartState("dev-master", "state"), "running");
    assert.ok(existsSync(path.join(sb.home, ".tartlab/logs/dev-master.log")));
  });

  test("tart run is detached: its own session, stdin from /dev/null, output to the VM's log", async (t) => {
    if (!existsSync("/proc/self/stat")) return t.skip("needs /proc to read the session id");
    await cloned();
    const r = await start();
    assert.equal(r.code, 0, r.stderr);
    const sid = tartState("dev-master", "sid");
    const mySid = readFileSync("/proc/self/stat", "utf8")
      .replace(/^.*\) /, "")
      .split(" ")[3];
    assert.notEqual(sid, mySid, "tart run must not share our session: Pulumi kills plugin process groups");
    assert.equal(sid, tartState("dev-master", "pid"), "tart run leads its own session (setsid)");
    const stdio = tartState("dev-master", "stdio").split("\n");
    assert.equal(stdio[0], "/dev/null");
    assert.equal(stdio[1], path.join(sb.home, ".tartlab/logs/dev-master.log"));
    assert.equal(stdio[2], stdio[1]);
  });

  test("disk already large enough: no --disk-size (tart refuses to shrink)", async () => {
    await cloned();
    const r = await start({ ...startEnv, DISK_GB: "20" });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.calls.some((c) => c.includes("--disk-size")));
  });

  test("already running: no second tart run, same IP", async () => {
    await started();
    const r = await start();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "192.168.64.10\n");
    assert.equal(r.calls.filter((c) => c.startsWith("tart run")).length, 1);
    assert.match(r.stderr, /already running/);
  });

  test("no IP within the timeout: clear error naming the VM and the log (T09)", async () => {
    await cloned();
    const r = await start({ ...startEnv, IP_WAIT_SECONDS: "0" }, { FAKE_TART_NO_IP: "1" });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /VM "dev-master": got no IP address within 0s/);
    // Its looks come after the sizing (the `tart run` it spawns logs its call whenever it gets to).
    const looks = callsAfter("tart set dev-master --cpu").filter((c) => c.startsWith("tart list"));
    assert.ok(looks.length > 0, "looked once, however short the deadline");
    assert.match(r.stderr, /last lines of .*dev-master\.log/);
  });

  test("tart run dies at once: fails fast with the log's tail", async () => {
    await cloned();
    const t0 = Date.now();
    const r = await start({ ...startEnv, IP_WAIT_SECONDS: "60" }, { FAKE_TART_RUN_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.ok(Date.now() - t0 < 20_000, "did not wait out the 60 s timeout");
    assert.match(r.stderr, /tart run exited before the VM got an IP address/);
    assert.match(r.stderr, /softnet not found in PATH/);
  });

  test("softnet missing: says how to install it, starts nothing", async () => {
    await cloned();
    sb.fake("softnet", "exit 0");
    const { rmSync } = await import("node:fs");
    rmSync(path.join(sb.bin, "softnet"));
    const r = await start();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /softnet is not on PATH; install it: brew install cirruslabs\/cli\/softnet/);
    assert.ok(!r.calls.some((c) => c.startsWith("tart run")));
  });

  test("missing VM: explicit error", async () => {
    const r = await start();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VM "dev-master": does not exist/);
  });
});

describe("tart-vm/start.sh on a running VM (an update): restart only on a real difference (resize, softnetAllow)", () => {
  const running = async () => {
    await started();
    assert.equal(listState("dev-master"), "running");
    writeFileSync(path.join(sb.dir, "calls.log"), ""); // from here on, only the update's calls
  };
  const runs = (r: { calls: string[] }) => r.calls.filter((c) => c.startsWith("tart run"));

  test("the same size and run options (e.g. only the script text changed): left running, not restarted", async () => {
    await running();
    const r = await start();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "192.168.64.10\n");
    assert.deepEqual(runs(r), []);
    assert.ok(
      !r.calls.some((c) => c.startsWith("tart exec") || c.startsWith("tart stop")),
      r.calls.join("\n"),
    );
    assert.match(r.stderr, /already running with this size and these run options/);
  });

  test("resize: stopped gracefully, resized with tart set, started again with the same run options", async () => {
    await running();
    const r = await start({ ...startEnv, CPUS: "4", MEMORY_MB: "8192", DISK_GB: "40" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "192.168.64.10\n");
    assert.match(r.stderr, /must restart to apply: cpus 2 -> 4; memoryMb 4096 -> 8192; diskGb 30 -> 40;/);
    assert.equal(tartState("dev-master", "stopped_by"), "guest", "graceful: the guest powered itself off");
    assert.ok(!r.calls.some((c) => c.startsWith("tart stop")), "never forced");
    assert.deepEqual(
      [tartState("dev-master", "cpu"), tartState("dev-master", "memory"), tartState("dev-master", "disk")],
      ["4", "8192", "40"],
    );
    assert.deepEqual(runs(r), [
      "tart run --no-graphics --net-softnet --net-softnet-allow=0.0.0.0/0 dev-master",
    ]);
    assert.equal(listState("dev-master"), "running");
  });

  test("softnetAllow changed: restarted gracefully with the new allow-list, recorded for the next comparison", async () => {
    await running();
    const record = path.join(sb.home, ".tartlab/vms/dev-master.run");
    assert.equal(
      readFileSync(record, "utf8"),
      "--no-graphics\n--net-softnet\n--net-softnet-allow=0.0.0.0/0\n",
    );
    const r = await start({ ...startEnv, SOFTNET_ALLOW: "192.168.64.0/24" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /run options .*--net-softnet-allow=0\.0\.0\.0\/0 -> .*--net-softnet-allow=192\.168\.64\.0\/24/,
    );
    assert.equal(tartState("dev-master", "stopped_by"), "guest");
    assert.deepEqual(runs(r), [
      "tart run --no-graphics --net-softnet --net-softnet-allow=192.168.64.0/24 dev-master",
    ]);
    assert.match(readFileSync(record, "utf8"), /allow=192\.168\.64\.0\/24/);
    assert.equal(listState("dev-master"), "running");
  });

  test("a running VM that tartlab did not start (no record of its run options) is restarted to apply them", async () => {
    await running();
    const { rmSync } = await import("node:fs");
    rmSync(path.join(sb.home, ".tartlab/vms/dev-master.run"));
    const r = await start();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /run options unknown/);
    assert.equal(runs(r).length, 1);
  });

  test("no guest agent: the restart falls back to a forced stop, and still resizes", async () => {
    await running();
    const r = await start({ ...startEnv, CPUS: "3" }, { FAKE_TART_EXEC_FAIL: "1" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tartState("dev-master", "stopped_by"), "forced");
    assert.equal(tartState("dev-master", "cpu"), "3");
    assert.equal(listState("dev-master"), "running");
  });

  test("disk shrink refused before anything is touched, saying the smallest allowed value", async () => {
    await running();
    const r = await start({ ...startEnv, DISK_GB: "25", CPUS: "4" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /diskGb 25 is smaller than its disk of 30 GB; a VM disk only grows/);
    assert.match(r.stderr, /Set diskGb to 30 or more/);
    assert.equal(listState("dev-master"), "running", "not stopped");
    assert.equal(tartState("dev-master", "cpu"), "2", "not resized");
    assert.ok(
      !r.calls.some((c) => c.startsWith("tart exec") || c.startsWith("tart set")),
      r.calls.join("\n"),
    );
  });

  test("a restart after which the VM never gets an IP: fails naming the VM and the log", async () => {
    await running();
    const r = await start({ ...startEnv, CPUS: "4", IP_WAIT_SECONDS: "0" }, { FAKE_TART_NO_IP: "1" });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /VM "dev-master": got no IP address within 0s/);
    assert.equal(tartState("dev-master", "cpu"), "4");
  });

  test("the VM cannot be stopped for the restart: fails, nothing resized", async () => {
    await running();
    const r = await start(
      { ...startEnv, CPUS: "4", GRACEFUL_STOP_SECONDS: "1" },
      { FAKE_TART_EXEC_FAIL: "1", FAKE_TART_STOP_FAIL: "1" },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not be stopped to apply: cpus 2 -> 4;/);
    assert.equal(tartState("dev-master", "cpu"), "2");
    assert.equal(listState("dev-master"), "running");
  });
});

describe("tart-vm/start.sh: what it cannot read or apply", () => {
  test("tart get prints no usable size: fails naming the command, the VM untouched", async () => {
    await cloned();
    writeFileSync(path.join(sb.dir, "tart", "dev-master", "cpu"), "two\n"); // JSON no longer parses
    const r = await start();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not read its size \(tart get dev-master --format json\)/);
    assert.equal(listState("dev-master"), "stopped");
  });

  test("a stop step that reports success while the VM still runs: refused, never resized under a live VM", async () => {
    await started();
    const r = await start({ ...startEnv, CPUS: "4", STOP_SCRIPT: "exit 0" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /still running after the stop step; stop it by hand \(tart stop dev-master\) and retry/,
    );
    assert.equal(tartState("dev-master", "cpu"), "2", "not resized");
    assert.equal(listState("dev-master"), "running");
  });
});

describe("tart-vm/address.sh", () => {
  const address = (processEnv?: Record<string, string>, env: Record<string, string> = {}) =>
    sb.run({
      script: "tart-vm/address.sh",
      env: { VM_NAME: "dev-master", ...env },
      processEnv: { ...QUICK_MAC, ...processEnv },
    });

  test("prints the running VM's IP and nothing else", async () => {
    await started();
    const r = await address();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "192.168.64.10\n");
  });

  test("a stopped VM has no address: fails saying so", async () => {
    await cloned();
    const r = await address();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /VM "dev-master" is stopped, so it has no address/);
  });

  test("no lease within its deadline: fails naming what it waited for", async () => {
    await started();
    const r = await address({ FAKE_TART_NO_IP: "1" }, { ADDRESS_WAIT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /got no IP address within 0s \(tart ip --wait\)/);
    assert.ok(r.calls.includes("tart ip --wait 0 dev-master"), "looked once, however short the deadline");
  });

  test("a lease that comes late is found at a later look", async () => {
    await started();
    const lease = path.join(sb.dir, "tart", "dev-master", "ip");
    const ip = readFileSync(lease, "utf8");
    rmSync(lease);
    const from = sb.calls().length;
    const looking = address(undefined, { ADDRESS_WAIT_SECONDS: "60" });
    // The lease comes once address.sh has asked for it, found none and asked again.
    const asks = () =>
      sb
        .calls()
        .slice(from)
        .filter((c) => c.startsWith("tart ip")).length;
    await until("address.sh to ask for the lease twice", () => asks() >= 2);
    writeFileSync(lease, ip);
    const r = await looking;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ip);
  });

  test("a lease that is not an IPv4 address: refused, nothing printed on stdout", async () => {
    await started();
    writeFileSync(path.join(sb.dir, "tart", "dev-master", "ip"), "fe80::1\n");
    const r = await address();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tart ip printed "fe80::1", not an IPv4 address/);
    assert.equal(r.stdout, "");
  });

  // The guest learns its VM's name through tart exec (by name, not address); SSH scripts check it.
  test("writes the VM's name into the guest and records the address on the Mac", async () => {
    await started();
    const r = await address();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tartState("dev-master", "guest/etc/tartlab/vm-name"), "dev-master");
    assert.equal(
      readFileSync(path.join(sb.home, ".tartlab", "vms", "dev-master.ip"), "utf8"),
      "192.168.64.10\n",
    );
  });

  test("a guest agent that fails: no address printed, the reason given", async () => {
    await started();
    const r = await address({ FAKE_TART_EXEC_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /could not write its identity marker through tart exec .*is the Tart Guest Agent running/,
    );
  });

  test("a hung guest agent: cut off at its deadline, with what to do", async () => {
    await started();
    const r = await address({ FAKE_TART_EXEC_HANG: "1" }, { GUEST_EXEC_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /did not answer tart exec within 0s .*restarts a VM that does not answer/);
    // How a missing agent shows is read from Tart's source only: the hang says what to do about it too.
    assert.match(r.stderr, /tart pull ghcr\.io\/cirruslabs\/ubuntu:24\.04, then rebuild this VM/);
  });

  test("no guest agent (an image tag cached before the agent shipped): says tart pull <image> and how to rebuild", async () => {
    await clone();
    assert.equal((await start()).code, 0);
    const r = await address({ FAKE_TART_EXEC_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /tart clone never refreshes a cached tag\. Run: tart pull ghcr\.io\/cirruslabs\/ubuntu:24\.04, then rebuild this VM \(pulumi up --replace on its dev-master-clone resource\)/,
    );
    assert.ok(!existsSync(path.join(sb.home, ".tartlab", "vms", "dev-master.ip")), "no address recorded");
  });

  test("a VM cloned from a local image (the golden image) is not told to tart pull it", async () => {
    await clone({ ...cloneEnv, BASE_IMAGE: "tartlab-golden-1-35-2-0123456789abcdef" });
    assert.equal((await start()).code, 0);
    const r = await address({ FAKE_TART_EXEC_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /tart exec needs the Tart Guest Agent in the guest \(Tart >= 2\.28\.3, macOS 14\+\)/,
    );
    assert.doesNotMatch(r.stderr, /tart pull/);
  });

  test("the VM's name goes in as an argument, not a redirected file (tart exec -i never ended one before Tart 2.28.2)", async () => {
    await clone();
    assert.equal((await start()).code, 0);
    const r = await address({ FAKE_TART_EXEC_FILE_NO_EOF: "1" }, { GUEST_EXEC_SECONDS: "2" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tartState("dev-master", "guest/etc/tartlab/vm-name"), "dev-master");
    const execs = r.calls.filter((c) => c.startsWith("tart exec"));
    assert.equal(execs.length, 1);
    assert.ok(!execs[0].startsWith("tart exec -i"), execs[0]);
  });
});

describe("tart-vm/stop.sh: graceful first (tart stop is a hard power-off)", () => {
  const running = async () => {
    await started();
    assert.equal(listState("dev-master"), "running");
  };

  test("the guest powers itself off: stopped, never forced", async () => {
    await running();
    const r = await stopVm({ GRACEFUL_STOP_SECONDS: "10" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(listState("dev-master"), "stopped");
    assert.equal(tartState("dev-master", "stopped_by"), "guest");
    assert.match(r.stderr, /stopped VM "dev-master" \(guest powered off\)/);
    assert.ok(!r.calls.some((c) => c.startsWith("tart stop")), r.calls.join("\n"));
  });

  test("a guest slower than a poll but within the deadline is still a graceful stop", async () => {
    await running();
    const hold = path.join(sb.dir, "tart", "dev-master", "poweroff_hold");
    writeFileSync(hold, "");
    const stopping = stopVm({ GRACEFUL_STOP_SECONDS: "60" });
    // The guest finishes once stop.sh has found it still running after the poweroff request, twice (a poll).
    const looks = () => callsAfter("tart exec dev-master").filter((c) => c.startsWith("tart list")).length;
    await until("stop.sh to look at the VM twice after the poweroff request", () => looks() >= 2);
    rmSync(hold);
    const r = await stopping;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tartState("dev-master", "stopped_by"), "guest");
    assert.ok(!r.calls.some((c) => c.startsWith("tart stop")), r.calls.join("\n"));
  });

  test("no guest agent (tart exec fails): forced at once, says why", async () => {
    await running();
    const t0 = Date.now();
    const r = await stopVm({ GRACEFUL_STOP_SECONDS: "20" }, { FAKE_TART_EXEC_FAIL: "1" });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 < 15_000, "did not wait for a poweroff that was never asked for");
    assert.equal(listState("dev-master"), "stopped");
    assert.equal(tartState("dev-master", "stopped_by"), "forced");
    assert.match(
      r.stderr,
      /could not ask the guest to power off \(tart exec exit 1\): .*is the Tart Guest Agent running\?/,
    );
    assert.match(r.stderr, /forcing it off with tart stop/);
  });

  test("tart exec hangs: cut off at its deadline, then forced", async () => {
    await running();
    const r = await stopVm(
      { GUEST_EXEC_SECONDS: "0", GRACEFUL_STOP_SECONDS: "20" },
      { FAKE_TART_EXEC_HANG: "1" },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /tart exec \(guest poweroff\) gave no answer within 0s/);
    assert.equal(listState("dev-master"), "stopped");
    assert.equal(tartState("dev-master", "stopped_by"), "forced");
  });

  test("the guest ignores the poweroff: waits the bounded time, then forced", async () => {
    await running();
    const r = await stopVm({ GRACEFUL_STOP_SECONDS: "0" }, { FAKE_TART_GUEST_IGNORES_POWEROFF: "1" });
    assert.equal(r.code, 0, r.stderr);
    // Its time (0 s here: one look) comes between the poweroff request and the forced stop.
    const after = callsAfter("tart exec dev-master sudo systemd-run");
    const forced = after.findIndex((c) => c.startsWith("tart stop"));
    assert.ok(forced > 0, after.join("\n"));
    assert.ok(
      after.slice(0, forced).some((c) => c.startsWith("tart list")),
      "gave the guest its time",
    );
    assert.match(r.stderr, /still running 0s after the guest poweroff/);
    assert.equal(listState("dev-master"), "stopped");
    assert.equal(tartState("dev-master", "stopped_by"), "forced");
  });

  test("still running after poweroff and tart stop: fails, naming the VM and what to do", async () => {
    await running();
    const r = await stopVm(
      { GRACEFUL_STOP_SECONDS: "1" },
      { FAKE_TART_EXEC_FAIL: "1", FAKE_TART_STOP_FAIL: "1" },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /VM "dev-master" is still running after a guest poweroff and tart stop --timeout 30; stop it by hand/,
    );
    assert.equal(listState("dev-master"), "running");
  });
});

describe("tart-vm delete path", () => {
  test("stop then delete a running VM", async () => {
    await started();
    const stop = await stopVm();
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(tartState("dev-master", "state"), "stopped");
    const del = await deleteVm();
    assert.equal(del.code, 0, del.stderr);
    assert.ok(del.calls.includes("tart delete dev-master"));
    assert.ok(!existsSync(path.join(sb.dir, "tart", "dev-master")));
    assert.ok(!existsSync(path.join(sb.home, ".tartlab/vms/dev-master.owner")));
  });

  test("delete and stop of a VM that is already gone succeed", async () => {
    const stop = await stopVm();
    assert.equal(stop.code, 0, stop.stderr);
    const del = await deleteVm();
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /already gone/);
    assert.ok(!del.calls.some((c) => c.startsWith("tart delete")));
  });

  test("never deletes a VM this stack did not make", async () => {
    await clone({ ...cloneEnv, OWNER: "someone/else" });
    const del = await deleteVm();
    assert.equal(del.code, 0);
    assert.match(del.stderr, /not made by tartlab\/dev; leaving it untouched/);
    assert.ok(existsSync(path.join(sb.dir, "tart", "dev-master")));
  });
});
