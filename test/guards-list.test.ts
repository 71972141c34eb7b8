/**
 * The guard list (tools/guards.ts) names code by its exact text. An edit that moves that text makes the guard
 * stale, which the full `npm run test:guards` run finds only after half an hour; this finds it in seconds.
 */
import { spawnSync } from "node:child_process";
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";

const ROOT = path.join(__dirname, "..");

test("every guard in tools/guards.ts still names code that exists, and a test file that exists", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "tools/guards.ts", "--check"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^\d+ guards apply, 0 stale$/m);
});
