import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { validateLabConfig } from "../lib/lab-config";
import { reviveStoppedVms } from "../mac/revive";
import { HOMEBREW_BIN_DIRS, withTartPath } from "../mac/tart";
import { SCRIPTS_DIR } from "../lib/shell";
import { devRawConfig } from "./harness/pulumi";
import { QUICK_MAC, Sandbox } from "./harness/shell";
import { tartEnv, tartSandbox, tartVm } from "./harness/tart-mac";

const config = validateLabConfig(devRawConfig()).config;
const OWNER = "tartlab/dev";

let sb: Sandbox;
beforeEach(() => {
  sb = tartSandbox();
});
afterEach(() => sb.dispose());

/** A fake Tart VM in a given state, optionally marked as made by `owner`. */
const vm = (name: string, state: string, owner?: string) => tartVm(sb, name, { state, disk: 20 }, owner);

const env = () => ({
  ...tartEnv(sb),
  ...QUICK_MAC,
});

describe("T09: pulumi up restarts this stack's VMs that died", () => {
  test("starts only stopped VMs that this stack made", async () => {
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "running", OWNER);
    vm("staging-master", "stopped", "someone/else");
    vm("unrelated", "stopped");
    const r = await reviveStoppedVms(config, OWNER, false, env());
    assert.deepEqual(r.restarted, ["dev-master"]);
    assert.deepEqual(r.messages, ["VM dev-master was stopped; started it again at 192.168.64.10"]);
    const runs = sb.calls().filter((c) => c.startsWith("tart run"));
    assert.deepEqual(runs, ["tart run --no-graphics --net-softnet --net-softnet-allow=0.0.0.0/0 dev-master"]);
  });

  test("preview only reports, starts nothing", async () => {
    vm("dev-master", "stopped", OWNER);
    const r = await reviveStoppedVms(config, OWNER, true, env());
    assert.deepEqual(r.messages, ["VM dev-master is stopped; pulumi up will start it again"]);
    assert.ok(!sb.calls().some((c) => c.startsWith("tart run")));
  });

  test("a VM that cannot start again fails the run with its name and log", async () => {
    vm("dev-master", "stopped", OWNER);
    await assert.rejects(
      reviveStoppedVms(config, OWNER, false, { ...env(), FAKE_TART_RUN_FAIL: "1" }),
      /VM dev-master was stopped and could not be started again:[\s\S]*tart run exited before the VM got an IP address/,
    );
  });

  test("tart not on PATH: a clear message, not a TypeError", async () => {
    vm("dev-master", "stopped", OWNER);
    const noTart = `${path.dirname(process.execPath)}:/usr/bin:/bin`;
    const r = await reviveStoppedVms(config, OWNER, false, { ...env(), PATH: noTart });
    assert.deepEqual(r.restarted, []);
    assert.deepEqual(r.messages, [
      `could not read Tart's VM list (stopped VMs were not started again): tart is not on PATH (${noTart}:/opt/homebrew/bin:/usr/local/bin, ` +
        "which includes /opt/homebrew/bin and /usr/local/bin); install it: brew install cirruslabs/cli/tart",
    ]);
  });

  test("tart list failing or printing no JSON: a message naming it", async () => {
    sb.fake("tart", 'echo "Error: boom" >&2; exit 1');
    assert.match(
      (await reviveStoppedVms(config, OWNER, false, env())).messages[0],
      /tart list exited with 1: Error: boom/,
    );
    sb.fake("tart", "echo not-json");
    assert.match(
      (await reviveStoppedVms(config, OWNER, false, env())).messages[0],
      /tart list printed no JSON: not-json/,
    );
  });

  test("the scripts' Homebrew directories are added to PATH, after the user's own", async () => {
    assert.equal(withTartPath({ PATH: "/a:/b" }).PATH, "/a:/b:/opt/homebrew/bin:/usr/local/bin");
    assert.equal(withTartPath({}).PATH, "/opt/homebrew/bin:/usr/local/bin");
    const helpers = readFileSync(path.join(SCRIPTS_DIR, "helpers.sh"), "utf8");
    assert.ok(
      helpers.includes(`export PATH="$PATH:${HOMEBREW_BIN_DIRS.join(":")}"`),
      "helpers.sh uses the same PATH",
    );
    for (const dir of ["tart-vm", "host"]) {
      for (const f of readdirSync(path.join(SCRIPTS_DIR, dir))) {
        const text = readFileSync(path.join(SCRIPTS_DIR, dir, f), "utf8");
        assert.match(text, /^_homebrew_path$/m, `${dir}/${f} uses the same PATH`);
      }
    }
  });

  test("removing a cluster: this stack's stopped VMs that the config no longer lists are started as they are, so their removal can run", async () => {
    vm("dev-master", "running", OWNER);
    vm("qa-master", "stopped", OWNER); // a cluster removed from the config
    vm("qa-worker1", "stopped", OWNER);
    writeFileSync(path.join(sb.dir, "tart", "qa-worker1", "cpu"), "3\n");
    writeFileSync(path.join(sb.dir, "tart", "qa-worker1", "disk"), "40\n");
    vm("old-vm", "stopped", "someone/else");
    const preview = await reviveStoppedVms(config, OWNER, true, env());
    assert.deepEqual(preview.restarted, ["qa-master", "qa-worker1"]);
    assert.match(
      preview.messages[0],
      /^VM qa-master is stopped; pulumi up will start it again \(it is no longer in the config/,
    );
    assert.equal(readFileSync(path.join(sb.dir, "tart", "qa-master", "state"), "utf8").trim(), "stopped");
    const r = await reviveStoppedVms(config, OWNER, false, env());
    assert.deepEqual(r.restarted, ["qa-master", "qa-worker1"]);
    assert.equal(
      r.messages[1],
      "VM qa-worker1 was stopped; started it again at 192.168.64.10 (it is no longer in the config: pulumi up " +
        "removes it from its cluster and deletes it, which needs it running)",
    );
    const state = (n: string, f: string) => readFileSync(path.join(sb.dir, "tart", n, f), "utf8").trim();
    assert.equal(state("qa-master", "state"), "running");
    assert.equal(state("qa-worker1", "state"), "running");
    // Started at the size it has: no resize of a VM that is going away.
    assert.deepEqual([state("qa-worker1", "cpu"), state("qa-worker1", "disk")], ["3", "40"]);
    assert.equal(state("old-vm", "state"), "stopped", "another stack's VM is never touched");
  });

  test("removing a cluster: an unlisted VM whose size cannot be read fails with its name and what to do", async () => {
    vm("qa-master", "stopped", OWNER);
    writeFileSync(path.join(sb.dir, "tart", "qa-master", "cpu"), "\n");
    await assert.rejects(
      reviveStoppedVms(config, OWNER, false, env()),
      /VM qa-master is stopped and no longer in the config, and its size could not be read[\s\S]*tart run --no-graphics qa-master/,
    );
  });

  test("nothing to do for a fresh lab", async () => {
    assert.deepEqual(await reviveStoppedVms(config, OWNER, false, env()), {
      restarted: [],
      failed: [],
      messages: [],
    });
  });
});

describe("revive progress: a line per VM as it goes", () => {
  /** A clock 7 s further at every reading: each VM's start (one reading before, one after) takes "7s". */
  const clock = () => {
    let t = -7_000;
    return () => (t += 7_000);
  };

  test("pulumi up: starting, then running at its address with the time it took", async () => {
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    const lines: string[] = [];
    const r = await reviveStoppedVms(config, OWNER, false, env(), true, undefined, {
      progress: (l) => lines.push(l),
      now: clock(),
    });
    assert.deepEqual(r.restarted, ["dev-master", "dev-worker1"]);
    assert.deepEqual(lines, [
      "dev-master: starting (was stopped)",
      "dev-master: running at 192.168.64.10 (7s)",
      "dev-worker1: starting (was stopped)",
      "dev-worker1: running at 192.168.64.10 (7s)",
    ]);
  });

  test("keepGoing carries on past a VM that fails and reports it", async () => {
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "stopped", OWNER);
    // dev-master's start fails; dev-worker1's works.
    const failMaster = { ...env(), FAKE_TART_RUN_FAIL: "dev-master" };
    const lines: string[] = [];
    const r = await reviveStoppedVms(config, OWNER, false, failMaster, false, undefined, {
      progress: (l) => lines.push(l),
      now: clock(),
      keepGoing: true,
    });
    assert.deepEqual(r.restarted, ["dev-worker1"]);
    assert.deepEqual(
      r.failed.map((f) => f.name),
      ["dev-master"],
    );
    assert.match(r.failed[0].detail, /^could not be started again: /);
    assert.deepEqual(lines, [
      "dev-master: starting (was stopped)",
      "dev-master: failed after 7s",
      "dev-worker1: starting (was stopped)",
      "dev-worker1: running at 192.168.64.10 (7s)",
    ]);
  });
});
