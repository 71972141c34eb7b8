import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Measurements,
  criticalPath,
  durationRecorder,
  estimate,
  figureFor,
  snapshotEstimate,
} from "../lib/perf-model";
import { STACK, dependsOn, devStackConfig, runLab } from "./harness/pulumi";

test("criticalPath: the longest path by duration, not by number of steps", () => {
  //   a(10) -> b(1) -> c(1) -> d(1)      4 steps, 13 s
  //   a(10) -> e(30)                     2 steps, 40 s
  //   f(35)                              alone
  const steps = [
    { name: "a", seconds: 10, deps: [] },
    { name: "b", seconds: 1, deps: ["a"] },
    { name: "c", seconds: 1, deps: ["b"] },
    { name: "d", seconds: 1, deps: ["c"] },
    { name: "e", seconds: 30, deps: ["a"] },
    { name: "f", seconds: 35, deps: [] },
  ];
  assert.deepEqual(criticalPath(steps), { path: ["a", "e"], seconds: 40 });
  // A join: g waits for d and f; the path goes through f (35 > 13).
  assert.deepEqual(criticalPath([...steps, { name: "g", seconds: 2, deps: ["d", "f"] }]), {
    path: ["a", "e"],
    seconds: 40,
  });
  assert.deepEqual(criticalPath([...steps, { name: "g", seconds: 9, deps: ["d", "f"] }]), {
    path: ["f", "g"],
    seconds: 44,
  });
  assert.throws(
    () =>
      criticalPath([
        { name: "x", seconds: 1, deps: ["y"] },
        { name: "y", seconds: 1, deps: ["x"] },
      ]),
    /dependency cycle/,
  );
});

test("estimate: sequential total is the sum; measured figures win only for their own scenario", () => {
  const graph = [
    { name: "w-clone", type: "command:local:Command", deps: [] },
    { name: "w-start", type: "command:local:Command", deps: ["w-clone"] },
    { name: "w", type: "tartlab:index:TartVm", deps: [] },
  ];
  const e = estimate(graph, { golden: false, build: "rebuild" });
  assert.equal(
    e.sequentialSeconds,
    e.steps.reduce((a, s) => a + s.seconds, 0),
  );
  assert.equal(e.steps.find((s) => s.name === "w")!.seconds, 0);
  assert.deepEqual(e.critical.path, ["w-clone", "w-start"]);
  const measured: Measurements = {
    recordedAt: "2026-11-25T10:00:00Z",
    machine: "Mac16,10 M4 Pro",
    scenario: { golden: false, build: "rebuild" },
    resources: {
      "w-start": { seconds: 7.5, type: "command:local:Command" },
      "e2e-master-prepare": { seconds: 80, type: "command:remote:Command" },
      "e2e-worker1-prepare": { seconds: 90, type: "command:remote:Command" },
      "e2e-worker2-prepare": { seconds: 130, type: "command:remote:Command" },
    },
  };
  const f = figureFor("w-start", "command:local:Command", { golden: false, build: "rebuild" }, measured);
  assert.deepEqual(f, {
    seconds: 7.5,
    source: "measured by test/e2e/mac-lab.e2e.ts on Mac16,10 M4 Pro (2026-11-25T10:00:00Z)",
  });
  // Another lab's names: the median of the measured steps of the same kind.
  const p = figureFor("platform-worker2-prepare", "command:remote:Command", measured.scenario, measured);
  assert.equal(p.seconds, 90);
  assert.match(p.source, /median of 3 of this kind$/);
  // A kind nothing was measured for keeps the table's figure.
  assert.match(
    figureFor("dev-init", "command:remote:Command", measured.scenario, measured).source,
    /published/,
  );
  const other = figureFor("w-start", "command:local:Command", { golden: true, build: "rebuild" }, measured);
  assert.notEqual(other.seconds, 7.5);
  assert.match(other.source, /^estimate: /);
});

test("default lab: longest chain, independent clusters, workers prepare while the control plane initialises", async () => {
  assert.equal(STACK, "dev");
  const { recorder: rec } = await runLab(devStackConfig(), { preview: true, hostFacts: undefined });
  const { longestChain } = await import("../tools/plan");
  // The first build's longest chain by resources: Cilium after every join (a re-pointed node is followed before the
  // release), each node's agent check, then the Ready gate, storage and Jenkins.
  assert.deepEqual(longestChain(rec), [
    "platform-master-clone",
    "platform-master-start",
    "platform-master-address",
    "platform-master-identity",
    "platform-master-prepare",
    "platform-master-ready",
    "platform-init",
    "platform-platform-worker1-netcheck",
    "platform-platform-worker1-join",
    "platform-platform-worker1-member",
    "platform-cilium",
    "platform-platform-master-cilium-agent",
    "platform-nodes-ready",
    "platform-local-path-namespace",
    "platform-local-path-config",
    "platform-local-path-provisioner",
    "platform-default-storageclass",
    "platform-jenkins-release",
  ]);
  const clusters = ["platform", "dev", "staging"];
  const ofCluster = (c: string) =>
    rec.registrations.filter((r) => r.custom && r.name.startsWith(`${c}-`)).map((r) => r.name);
  for (const a of clusters) {
    for (const b of clusters.filter((x) => x !== a)) {
      for (const from of ofCluster(a)) {
        for (const to of ofCluster(b)) assert.ok(!dependsOn(rec, from, to), `${from} waits for ${to}`);
      }
    }
  }
  for (const [cluster, workers] of [
    ["platform", ["platform-worker1", "platform-worker2"]],
    ["dev", ["dev-worker1"]],
    ["staging", ["staging-worker1"]],
  ] as const) {
    for (const w of workers) {
      for (const step of ["clone", "start", "identity", "prepare", "ready"]) {
        // Neither way: a worker's preparation neither waits for init nor holds it up.
        assert.ok(
          !dependsOn(rec, `${cluster}-init`, `${w}-${step}`),
          `${cluster}-init waits for ${w}-${step}`,
        );
        assert.ok(
          !dependsOn(rec, `${w}-${step}`, `${cluster}-init`),
          `${w}-${step} waits for ${cluster}-init`,
        );
      }
    }
  }
});

test("durationRecorder: per resource from its pre event to its outputs event; components and no-ops left out", () => {
  let t = 100;
  const rec = durationRecorder(() => t);
  const urn = (type: string, name: string) => `urn:pulumi:e2e::tartlab::${type}::${name}`;
  const clone = urn("tartlab:index:TartVm$command:local:Command", "e2e-master-clone");
  const vm = urn("tartlab:index:TartVm", "e2e-master");
  const same = urn("command:remote:Command", "e2e-init");
  rec.onEvent({ resourcePreEvent: { metadata: { urn: vm, op: "create" } } });
  rec.onEvent({ resourcePreEvent: { metadata: { urn: clone, op: "create" } } });
  rec.onEvent({ resourcePreEvent: { metadata: { urn: same, op: "same" } } });
  t = 112.34;
  rec.onEvent({ resOutputsEvent: { metadata: { urn: clone, op: "create" } } });
  rec.onEvent({ resOutputsEvent: { metadata: { urn: same, op: "same" } } });
  rec.onEvent({ resOutputsEvent: { metadata: { urn: vm, op: "create" } } });
  assert.deepEqual(rec.resources(), { "e2e-master-clone": { seconds: 12.3, type: "command:local:Command" } });
});

test("snapshotEstimate: save and restore are the sum of their sourced phases; more VMs cost more; a parallel start less", () => {
  for (const op of ["save", "restore"] as const) {
    const seven = snapshotEstimate(op, 7, false);
    const sum = seven.phases.reduce((a, p) => a + p.seconds, 0);
    assert.ok(Math.abs(seven.seconds - sum) < 0.1, `${op}: total is the sum of its phases`);
    for (const p of seven.phases) assert.ok(p.source.length > 0, `${op}: ${p.phase} has a source`);
    assert.ok(seven.seconds > snapshotEstimate(op, 2, false).seconds, `${op}: grows with the VMs`);
    const parallel = snapshotEstimate(op, 7);
    assert.ok(parallel.seconds < seven.seconds, `${op}: starting the VMs at once is shorter`);
    // The start phase is the only one that differs: one VM's start instead of seven.
    const start = figureFor("vm-start", "command:local:Command", { golden: true, build: "rebuild" }).seconds;
    assert.ok(Math.abs(seven.seconds - parallel.seconds - 6 * start) < 0.1);
  }
  assert.ok(
    snapshotEstimate("restore", 7).phases.some((p) => p.phase.startsWith("set each VM aside")),
    "a restore sets the lab's VMs aside before it clones",
  );
});

test("the default lab with ClusterMesh: every step has a figure of its own kind, and the mesh wait is off Jenkins' path", async () => {
  const { recorder: rec } = await runLab(
    { ...devStackConfig(), "tartlab:clusterMesh": true },
    { preview: true, hostFacts: undefined },
  );
  const { longestChain } = await import("../tools/plan");
  for (const r of rec.registrations.filter((x) => x.custom)) {
    const figure = figureFor(r.name, r.type, { golden: false, build: "first" });
    assert.doesNotMatch(figure.source, /no row/, `${r.name} (${r.type})`);
  }
  assert.match(
    figureFor("dev-mesh-ready", "command:remote:Command", { golden: false, build: "first" }).source,
    /clustermesh-apiserver/,
  );
  assert.equal(longestChain(rec).at(-1), "platform-jenkins-release");
});
