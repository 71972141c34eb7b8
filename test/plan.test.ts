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
  assert.match(out, /^150 resources;/m);
  for (const vm of ["platform-master", "platform-worker2", "dev-worker1", "staging-master"]) {
    assert.match(out, new RegExp(`─ ${vm} \\(tartlab:index:TartVm\\)`));
    assert.match(out, new RegExp(`─ ${vm}-start \\(command:local:Command\\) {2}<- ${vm}-clone`));
  }
  assert.match(
    out,
    /─ dev-cilium \(kubernetes:helm\.sh\/v3:Release\) {2}<- dev-init, dev-master-address, dev-k8s/,
  );
  const chain = out.slice(out.indexOf("Longest dependency chain"));
  // The longest chain is the upgrade chain (no-ops on a first build): the control plane, then worker after worker.
  assert.match(chain, /\(17 resources/);
  assert.match(chain, /17\. platform-version-record/);
  assert.match(chain, /1\. platform-master-clone\n.*\n.*\n.*\n.*\n.*\n\s+7\. platform-init/);
});
