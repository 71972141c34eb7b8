import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

test("npm run plan prints the default lab's whole graph and its longest chain", () => {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "..", "tools", "plan.ts")],
    {
      encoding: "utf8",
      cwd: path.join(__dirname, ".."),
    },
  );
  assert.match(out, /^157 resources;/m);
  for (const vm of ["platform-master", "platform-worker2", "dev-worker1", "staging-master"]) {
    assert.match(out, new RegExp(`─ ${vm} \\(tartlab:index:TartVm\\)`));
    assert.match(out, new RegExp(`─ ${vm}-start \\(command:local:Command\\) {2}<- ${vm}-clone`));
  }
  assert.match(
    out,
    /─ dev-cilium \(kubernetes:helm\.sh\/v3:Release\) {2}<- dev-init, dev-dev-worker1-member, dev-master-address, dev-k8s/,
  );
  const chain = out.slice(out.indexOf("Longest dependency chain"));
  // The longest chain: the control plane, a worker's join, Cilium after every join, the Ready gate, storage, Jenkins.
  assert.match(chain, /\(18 resources/);
  assert.match(chain, /18\. platform-jenkins-release/);
  assert.match(chain, /1\. platform-master-clone\n.*\n.*\n.*\n.*\n.*\n\s+7\. platform-init/);
});

test("plan: the performance model prints critical path and sequential total, golden image off and on", () => {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "..", "tools", "plan.ts")],
    { encoding: "utf8", cwd: path.join(__dirname, "..") },
  );
  const totals = /critical path (\d+)m(\d\d)s \(\d+ steps\), sequential total (\d+)m(\d\d)s/;
  const secs = (m: RegExpMatchArray, i: number) => Number(m[i]) * 60 + Number(m[i + 1]);
  const model: Record<string, { critical: number; sequential: number }> = {};
  for (const golden of ["OFF", "ON"]) {
    const block = out.slice(out.indexOf(`Performance model, golden image ${golden}`));
    for (const build of ["first build", "rebuild"]) {
      const m = block.match(new RegExp(`${build} *: ${totals.source}`));
      assert.ok(m, `${golden} ${build}`);
      model[`${golden} ${build}`] = { critical: secs(m, 1), sequential: secs(m, 3) };
    }
  }
  for (const [k, v] of Object.entries(model)) assert.ok(v.critical < v.sequential, k);
  // The golden image makes a rebuild faster than per-node preparation, and its first build bakes once.
  assert.ok(model["ON rebuild"].critical < model["OFF rebuild"].critical);
  assert.ok(model["ON rebuild"].sequential < model["OFF rebuild"].sequential);
  assert.ok(model["ON first build"].critical > model["ON rebuild"].critical);
  assert.match(out, /^ +\d+ s {2}golden-image-1-35-\d+ {2}\[/m);
});
