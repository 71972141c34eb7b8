import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { Sandbox, sandbox } from "./harness/shell";
import { tartEnv } from "./harness/tart-mac";

let sb: Sandbox;
const OLD = "tartlab-golden-1-35-1-aaaaaaaaaaaaaaaa";
const CURRENT = "tartlab-golden-1-35-2-bbbbbbbbbbbbbbbb";
const RUNNING = "tartlab-golden-1-35-2-cccccccccccccccc";
const ORPHAN = "tartlab-golden-1-34-9-dddddddddddddddd";

const env = () => ({
  ...tartEnv(sb),
  TARTLAB_HOME: path.join(sb.dir, "tartlab-home"),
});
const tart = (...args: string[]) => execFileSync("tart", args, { env: env() });
const images = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "..", "ops", "images.ts"), ...args], {
    env: env(),
    encoding: "utf8",
    cwd: path.join(__dirname, ".."),
  });
const record = (vm: string, source: string) => {
  const dir = path.join(env().TARTLAB_HOME, "vms");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${vm}.source`), `${source}\n`);
};

beforeEach(() => {
  sb = sandbox();
  sb.useFake("tart");
  for (const g of [OLD, CURRENT, RUNNING, ORPHAN, `${CURRENT}-baking`])
    tart("clone", "ghcr.io/cirruslabs/ubuntu:24.04", g);
  // Nodes of two stacks cloned from CURRENT; ORPHAN's only clone is gone (its record stayed).
  tart("clone", CURRENT, "dev-master");
  tart("clone", CURRENT, "other-stack-worker");
  record("dev-master", CURRENT);
  record("other-stack-worker", CURRENT);
  record("deleted-vm", ORPHAN);
  mkdirSync(path.join(env().FAKE_TART_HOME, RUNNING), { recursive: true });
  writeFileSync(path.join(env().FAKE_TART_HOME, RUNNING, "state"), "running\n");
});
afterEach(() => sb.dispose());

test("npm run images lists golden images and what was cloned from each", () => {
  const r = images();
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`^${CURRENT} \\(stopped, 6 GB\\): cloned by dev-master, other-stack-worker$`, "m"),
  );
  assert.match(r.stdout, new RegExp(`^${OLD} \\(stopped, 6 GB\\): unused$`, "m"));
  assert.match(r.stdout, new RegExp(`^${ORPHAN} \\(stopped, 6 GB\\): unused$`, "m"));
  assert.doesNotMatch(r.stdout, /dev-master \(/, "node VMs are not golden images");
  assert.deepEqual(readdirSync(env().FAKE_TART_HOME).length, 7, "listing deletes nothing");
});

test("prune deletes only golden images no existing VM was cloned from; running and baking ones stay", () => {
  const r = images("prune");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(env().FAKE_TART_HOME).sort(), [
    "dev-master",
    "other-stack-worker",
    CURRENT,
    `${CURRENT}-baking`,
    RUNNING,
  ]);
  assert.match(r.stdout, new RegExp(`^deleted ${OLD}$`, "m"));
});

test("a bad argument is refused before anything is read", () => {
  const r = images("purge");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown argument purge\nusage: tartlab images \[prune\]/);
});
