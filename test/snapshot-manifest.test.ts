import assert from "node:assert/strict";
import { test } from "node:test";
import { validateLabConfig } from "../lib/lab-config";
import {
  backupVmName,
  configDiff,
  configDigest,
  diffKeys,
  formatAge,
  nameProblem,
  parseManifest,
  parseSnapshotVmName,
  snapshotVmName,
} from "../lib/snapshot-manifest";
import { DEV_PAIR } from "./harness/stacks";

const STACK = DEV_PAIR;

test("snapshot VM names: a name's parts come back out; names that would make them ambiguous are refused", () => {
  for (const vm of ["dev-master", "a--b"]) {
    assert.deepEqual(parseSnapshotVmName(snapshotVmName("dev", "before-cni", vm)), {
      stack: "dev",
      snapshot: "before-cni",
      vm,
    });
  }
  assert.equal(parseSnapshotVmName("dev-master"), undefined);
  assert.equal(parseSnapshotVmName(backupVmName("dev", "dev-master")), undefined, "a backup is no snapshot");
  for (const bad of ["a--b", "A", "-a", "a/b", "x".repeat(41), ""]) {
    assert.match(nameProblem("snapshot", bad) ?? "", /cannot be used/, bad);
  }
  assert.equal(nameProblem("stack", "small"), undefined);
});

test("config digest ignores key order; the diff names each changed path and its config key", () => {
  const a = validateLabConfig(STACK).config;
  const reordered = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
  assert.equal(configDigest(reordered), configDigest(a));
  assert.deepEqual(configDiff(a, reordered), []);
  const b = validateLabConfig({
    ...STACK,
    clusters: [{ ...STACK.clusters[0], nodes: [STACK.clusters[0].nodes[0]] }],
    jenkins: { enabled: false },
    softnetAllow: "10.0.0.0/8",
  }).config;
  assert.notEqual(configDigest(b), configDigest(a));
  const diff = configDiff(a, b);
  assert.ok(diff.includes('softnetAllow: "0.0.0.0/0" -> "10.0.0.0/8"'), diff.join("\n"));
  assert.ok(diff.includes("clusters[dev].nodes[dev-worker1].cpus: 2 -> (absent)"), diff.join("\n"));
  assert.deepEqual(diffKeys(diff).sort(), ["tartlab:clusters", "tartlab:softnetAllow"]);
});

test("a malformed manifest is an error naming the file and the field", () => {
  assert.throws(() => parseManifest("{", "/m.json"), /\/m\.json is not JSON/);
  assert.throws(
    () => parseManifest('{"version":1}', "/m.json"),
    /\/m\.json is not a tartlab snapshot manifest \(name:/,
  );
});

test("formatAge: seconds, minutes, hours, days", () => {
  assert.deepEqual([5_000, 180_000, 7_200_000, 4 * 86_400_000].map(formatAge), ["5s", "3m", "2h", "4d"]);
});
