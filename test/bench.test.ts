import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { benchConfig, evaluate } from "../tools/bench";

test("bench: lab configs of any size validate, and the resource count grows linearly with VMs", async () => {
  const counts = [];
  for (const vms of [6, 12, 18]) counts.push((await evaluate(vms)).resources);
  // 2, 4, 6 clusters of 3 nodes: every cluster adds the same resources, nothing grows per pair of nodes.
  assert.equal(counts[1] - counts[0], counts[2] - counts[1], `counts ${counts.join(", ")}`);
  assert.ok(counts[1] > counts[0]);
  assert.equal((benchConfig(90)["tartlab:clusters"] as unknown[]).length, 30);
  assert.equal((await evaluate(7)).resources, 157, "7 VMs is the default lab");
});

test("npm run bench runs and reports every size (no wall-clock limit is asserted)", () => {
  const out = execFileSync(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(__dirname, "..", "tools", "bench.ts"),
      "--sizes",
      "3",
      "--runs",
      "1",
      "--process-runs",
      "1",
      "--json",
    ],
    { encoding: "utf8", cwd: path.join(__dirname, "..") },
  );
  const r = JSON.parse(out);
  assert.equal(r.rows.length, 1);
  assert.equal(r.rows[0].vms, 3);
  assert.ok(r.rows[0].resources > 0);
  assert.ok(r.rows[0].evaluation > 0 && r.rows[0].process > 0);
  assert.match(r.machine, /cores/);
});
