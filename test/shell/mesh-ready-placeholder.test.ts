/**
 * scripts/cilium-install/mesh-ready.sh as the placeholder that stands in until the real ClusterMesh wait lands (its
 * own tests replace this file then): the step's script runs with the environment the step gives it and succeeds.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { Sandbox, sandbox } from "../harness/shell";

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.dispose());

test("cilium-install/mesh-ready.sh (placeholder) succeeds with CLUSTER_NAME and PEERS", async () => {
  const r = await sb.run({
    script: "cilium-install/mesh-ready.sh",
    env: { CLUSTER_NAME: "dev", PEERS: "platform staging" },
  });
  assert.equal(r.code, 0, r.stderr);
});
