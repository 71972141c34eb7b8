import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { validateLabConfig } from "../lib/lab-config";
import { reviveStoppedVms } from "../lib/revive";
import { devRawConfig } from "./harness/pulumi";
import { Sandbox, sandbox } from "./harness/shell";

const config = validateLabConfig(devRawConfig()).config;
const OWNER = "tartlab/dev";

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
  sb.useFake("tart");
  sb.fake("softnet", "exit 0");
});
afterEach(() => sb.dispose());

/** A fake Tart VM in a given state, optionally marked as made by `owner`. */
function vm(name: string, state: string, owner?: string) {
  const dir = path.join(sb.dir, "tart", name);
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries({ state, disk: "30", cpu: "2", memory: "4096", mac: "m" })) {
    writeFileSync(path.join(dir, f), `${v}\n`);
  }
  if (owner) {
    mkdirSync(path.join(sb.home, ".tartlab/vms"), { recursive: true });
    writeFileSync(path.join(sb.home, ".tartlab/vms", `${name}.owner`), `${owner}\n`);
  }
}

const env = () => ({
  PATH: `${sb.bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: sb.home,
  FAKE_CALLS: path.join(sb.dir, "calls.log"),
  FAKE_TART_HOME: path.join(sb.dir, "tart"),
});

describe("T09: pulumi up restarts this stack's VMs that died", () => {
  test("starts only stopped VMs that this stack made", async () => {
    vm("dev-master", "stopped", OWNER);
    vm("dev-worker1", "running", OWNER);
    vm("staging-master", "stopped", "someone/else");
    vm("unrelated", "stopped");
    const r = reviveStoppedVms(config, OWNER, false, env());
    assert.deepEqual(r.restarted, ["dev-master"]);
    assert.deepEqual(r.messages, ["VM dev-master was stopped; started it again at 192.168.64.10 (T09)"]);
    const runs = sb.calls().filter((c) => c.startsWith("tart run"));
    assert.deepEqual(runs, ["tart run --no-graphics --net-softnet-allow=0.0.0.0/0 dev-master"]);
  });

  test("preview only reports, starts nothing", () => {
    vm("dev-master", "stopped", OWNER);
    const r = reviveStoppedVms(config, OWNER, true, env());
    assert.deepEqual(r.messages, ["VM dev-master is stopped; pulumi up will start it again (T09)"]);
    assert.ok(!sb.calls().some((c) => c.startsWith("tart run")));
  });

  test("a VM that cannot start again fails the run with its name and log", () => {
    vm("dev-master", "stopped", OWNER);
    assert.throws(
      () => reviveStoppedVms(config, OWNER, false, { ...env(), FAKE_TART_RUN_FAIL: "1" }),
      /VM dev-master was stopped and could not be started again:[\s\S]*tart run exited before the VM got an IP address/,
    );
  });

  test("nothing to do for a fresh lab", () => {
    assert.deepEqual(reviveStoppedVms(config, OWNER, false, env()), { restarted: [], messages: [] });
  });
});
