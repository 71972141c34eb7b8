/**
 * ClusterMesh (`tartlab:clusterMesh`) as plans of the default lab (Pulumi.dev.yaml: platform, dev, staging), by the
 * preview simulator (test/harness/preview.ts, rules in docs/plans.md): the mesh on for a new lab, switched on for a
 * deployed one, a cluster added to and removed from a mesh, each with its exact plan, and the up after each plans no
 * change. Joining or leaving the mesh is a Helm upgrade of the Cilium releases, never a replace, and touches nothing
 * else of a cluster.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { FAKE_CA_KEY_PEM, devStackConfig, isSecretValue, unwrap } from "./harness/pulumi";
import { LabPlanOptions, Plan, State, deployLab, foundIn, planLab, recordsOf } from "./harness/preview";

type Config = Record<string, any>;
const MODES = ["up", "preview"] as const;
const CLUSTERS = ["platform", "dev", "staging"];
const CA = ["cluster-mesh-ca", "cluster-mesh-ca-key"];
const sorted = (xs: string[]) => [...xs].sort();
const releases = (cs: string[]) => cs.map((c) => `${c}-cilium`);
const meshReady = (cs: string[]) => cs.map((c) => `${c}-mesh-ready`);

/** The default lab with `tartlab:clusterMesh` set (and, for `golden`, the golden image at an exact version). */
function lab(mesh: unknown, golden = false): Config {
  const c: Config = { ...devStackConfig(), "tartlab:clusterMesh": mesh };
  if (golden) Object.assign(c, { "tartlab:goldenImage": true, "tartlab:kubernetesVersion": "1.35.2" });
  return c;
}

/** What `pulumi up` (or preview) of `config` does to a deployed lab, with what that lab wrote on the Mac. */
const planOf = (state: State, config: Config, opts?: LabPlanOptions): Promise<Plan> =>
  planLab(state, { config, records: recordsOf(state), drift: foundIn(state) }, opts);
/** The state after `pulumi up` of `config` over `state` (or of a new lab). */
const upOf = (config: Config, state?: State): Promise<State> =>
  deployLab(state ? { config, records: recordsOf(state), drift: foundIn(state) } : { config });

/** A stored resource's registration, by name. */
const reg = (state: State, name: string) =>
  [...state.resources.values()].find((r) => r.reg.name === name && r.reg.custom)!.reg;
/** The Cilium values a deployed release holds. */
const valuesOf = (state: State, cluster: string) => unwrap(reg(state, `${cluster}-cilium`).inputs.values);

let plain: State;
let meshed: State;
let pair: State;
before(async () => {
  plain = await upOf(lab(false));
  meshed = await upOf(lab(true));
  pair = await upOf(lab(["platform", "dev"]));
});

/** The up after `state` with the same config, in up and preview: no change. */
async function assertSteady(state: State, config: Config, what: string) {
  for (const mode of MODES)
    assert.deepEqual((await planOf(state, config, { mode })).summary(), {}, `${what}, ${mode}`);
}

describe("ClusterMesh plans, default lab", () => {
  test("mesh on for a new lab: everything the lab without it creates, plus the CA and one mesh-ready step per cluster; each release carries its peers and the CA", async () => {
    const empty: State = { resources: new Map() };
    const without = (await planOf(empty, lab(false))).summary();
    const withMesh = (await planOf(empty, lab(true))).summary();
    assert.deepEqual(withMesh, { create: sorted([...without.create!, ...CA, ...meshReady(CLUSTERS)]) });
    for (const c of CLUSTERS) {
      const v = valuesOf(meshed, c);
      const peers = CLUSTERS.filter((p) => p !== c);
      assert.deepEqual(
        sorted(Object.keys(v.clustermesh.config.clusters)),
        sorted(peers),
        `${c}: its peers, itself left out`,
      );
      for (const p of peers) {
        // The peer's control plane address, where its API server (k8sServiceHost) and NodePort listen.
        const peerIp = valuesOf(meshed, p).k8sServiceHost;
        assert.deepEqual(v.clustermesh.config.clusters[p], { port: 32379, ips: [peerIp] }, `${c} -> ${p}`);
      }
      assert.deepEqual(v.clustermesh.apiserver.service, { type: "NodePort", nodePort: 32379 });
      assert.equal(v.clustermesh.useAPIServer, true);
      assert.equal(v.clustermesh.config.enabled, true);
      assert.deepEqual(v.tls.ca, valuesOf(meshed, "platform").tls.ca, `${c}: the one shared CA`);
    }
  });

  test("mesh toggled on for a deployed lab: the CA and the mesh-ready steps are created, the three releases updated (values only), nothing else changes", async () => {
    for (const mode of MODES) {
      const p = await planOf(plain, lab(true), { mode });
      assert.deepEqual(
        p.summary(),
        { create: sorted([...CA, ...meshReady(CLUSTERS)]), update: releases(CLUSTERS).sort() },
        mode,
      );
      for (const r of releases(CLUSTERS)) assert.deepEqual(p.step(r).changed, ["values"], `${mode}: ${r}`);
    }
    await assertSteady(meshed, lab(true), "after the mesh is on");
  });

  test("mesh toggled off again: the CA and the mesh-ready steps are deleted, the releases drop the mesh values", async () => {
    for (const mode of MODES) {
      const p = await planOf(meshed, lab(false), { mode });
      assert.deepEqual(
        p.summary(),
        { update: releases(CLUSTERS).sort(), delete: sorted([...CA, ...meshReady(CLUSTERS)]) },
        mode,
      );
    }
    const off = await upOf(lab(false), meshed);
    for (const c of CLUSTERS)
      assert.deepEqual(valuesOf(off, c), valuesOf(plain, c), `${c}: values as never meshed`);
  });

  test("a cluster added to a mesh of two: its release and both peers' releases updated, its mesh-ready created, the peers' mesh-ready updated (PEERS); the CA stays; nothing replaced", async () => {
    for (const mode of MODES) {
      const p = await planOf(pair, lab(true), { mode });
      assert.deepEqual(
        p.summary(),
        {
          create: ["staging-mesh-ready"],
          update: sorted([...releases(CLUSTERS), ...meshReady(["platform", "dev"])]),
        },
        mode,
      );
      for (const r of releases(CLUSTERS)) assert.deepEqual(p.step(r).changed, ["values"], `${mode}: ${r}`);
      assert.equal(p.op("cluster-mesh-ca"), "same", mode);
    }
    const grown = await upOf(lab(true), pair);
    assert.deepEqual(Object.keys(valuesOf(grown, "platform").clustermesh.config.clusters), [
      "dev",
      "staging",
    ]);
    await assertSteady(grown, lab(true), "after the cluster joined");
  });

  test("a cluster removed from a mesh of three: the releases updated, its mesh-ready deleted, the others' updated; the CA stays while two remain; nothing replaced", async () => {
    for (const mode of MODES) {
      const p = await planOf(meshed, lab(["platform", "dev"]), { mode });
      assert.deepEqual(
        p.summary(),
        {
          update: sorted([...releases(CLUSTERS), ...meshReady(["platform", "dev"])]),
          delete: ["staging-mesh-ready"],
        },
        mode,
      );
      assert.equal(p.op("cluster-mesh-ca-key"), "same", mode);
    }
    const shrunk = await upOf(lab(["platform", "dev"]), meshed);
    assert.equal(valuesOf(shrunk, "staging").clustermesh, undefined, "staging left the mesh");
    assert.equal(valuesOf(shrunk, "staging").tls, undefined);
    assert.deepEqual(valuesOf(shrunk, "staging"), valuesOf(plain, "staging"));
    assert.deepEqual(Object.keys(valuesOf(shrunk, "dev").clustermesh.config.clusters), ["platform"]);
    await assertSteady(shrunk, lab(["platform", "dev"]), "after the cluster left");
  });

  test("a meshed control plane at a new address: besides what the move does without the mesh, the peers' releases follow it (values) and every mesh-ready step runs again (its own at the new address, the peers' for their link to it); nothing replaced", async () => {
    /** What the drift check reports: platform's control plane moved, every other VM where it was. */
    const moved = (state: State) => {
      const found = foundIn(state);
      return { ...found, addresses: { ...found.addresses, "platform-master": "192.168.64.250" } };
    };
    const planMoved = (state: State, config: Config, mode: (typeof MODES)[number]) =>
      planLab(state, { config, records: recordsOf(state), drift: moved(state) }, { mode });
    for (const mode of MODES) {
      const without = (await planMoved(plain, lab(false), mode)).summary();
      const p = await planMoved(meshed, lab(true), mode);
      assert.deepEqual(
        p.summary(),
        { update: sorted([...without.update!, "dev-cilium", "staging-cilium", ...meshReady(CLUSTERS)]) },
        mode,
      );
      assert.deepEqual(p.names("replace"), [], mode);
      for (const r of ["dev-cilium", "staging-cilium"]) assert.deepEqual(p.step(r).changed, ["values"], mode);
    }
  });

  test("the up after a first build with the mesh plans no change, with the golden image off and on", async () => {
    await assertSteady(meshed, lab(true), "golden image off");
    const golden = await upOf(lab(true, true));
    await assertSteady(golden, lab(true, true), "golden image on");
  });
});

describe("ClusterMesh secrets", () => {
  test("the CA key never reaches the state in plain text: the release values are secret inputs and secret outputs, the key a secret output", async () => {
    for (const c of CLUSTERS) {
      const r = reg(meshed, `${c}-cilium`);
      assert.ok(isSecretValue(r.inputs.values), `${c}: values carry the CA key`);
      assert.ok(r.options.additionalSecretOutputs.includes("values"), `${c}: the release's copy of them too`);
    }
    const key = reg(meshed, "cluster-mesh-ca-key");
    assert.ok(key.options.additionalSecretOutputs.includes("privateKeyPem"));
    assert.ok(isSecretValue(reg(meshed, "cluster-mesh-ca").inputs.privateKeyPem));
    // Anywhere else in the state, only inside a secret.
    const plainText = (v: unknown): string =>
      JSON.stringify(v, (_, x) => (isSecretValue(x) ? "[secret]" : x)) ?? "";
    const b64 = Buffer.from(FAKE_CA_KEY_PEM).toString("base64");
    for (const s of meshed.resources.values()) {
      const text = plainText(s.reg.inputs);
      assert.ok(!text.includes(b64) && !text.includes("fake-mesh-ca-key"), `${s.reg.name}: no plain CA key`);
    }
    // Without the mesh the values stay as they were: plain, no secret output.
    assert.ok(!isSecretValue(reg(plain, "platform-cilium").inputs.values));
  });
});
