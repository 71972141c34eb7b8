/**
 * ClusterMesh: `tartlab:clusterMesh` parsed and refused (lib/lab-config.ts), and its graph in the default lab
 * (program.ts, components/cluster-mesh.ts): each meshed cluster's values after every peer's address, the mesh-ready
 * step after its own and every peer's nodes-Ready gate, and nothing waiting for it. Plans are in
 * test/plans-mesh.test.ts, the values against the chart in test/cilium-chart.test.ts.
 */
import assert from "node:assert/strict";
import { configProblems } from "./harness/config";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { RawConfig, validateLabConfig } from "../lib/lab-config";
import { labConfigFrom } from "../lib/stack-config";
import { ClusterMeshCa } from "../components/cluster-mesh";
import {
  FAKE_CA_CERT_PEM,
  FAKE_CA_KEY_PEM,
  bundleEnv,
  evaluate,
  devRawConfig,
  devStackConfig,
  lastRecorder,
  runLab,
  sharedLab,
  unwrap,
  waitsFor,
} from "./harness/pulumi";

const CLUSTERS = ["platform", "dev", "staging"];

const problemsOf = configProblems;
/** The default lab's raw config with `clusterMesh` set and `mutate` applied. */
function meshRaw(mesh: unknown, mutate: (c: any) => void = () => {}): RawConfig {
  const c = devRawConfig();
  c.clusterMesh = mesh;
  mutate(c);
  return c;
}
const meshOf = (raw: RawConfig) => validateLabConfig(raw).config.clusterMesh;

describe("tartlab:clusterMesh", () => {
  test("off by default and when false; true meshes every cluster; a list meshes those, in the clusters' order", () => {
    assert.deepEqual(meshOf(devRawConfig()), []);
    for (const off of [false, "false"]) assert.deepEqual(meshOf(meshRaw(off)), [], String(off));
    for (const on of [true, "true"]) assert.deepEqual(meshOf(meshRaw(on)), CLUSTERS, String(on));
    assert.deepEqual(meshOf(meshRaw(["staging", "platform"])), ["platform", "staging"]);
  });

  test("from the CLI (JSON text) as from the stack file", () => {
    const entries = (v: unknown) => ({ ...devStackConfig(), "tartlab:clusterMesh": v });
    assert.deepEqual(labConfigFrom(entries('["dev","staging"]')).config.clusterMesh, ["dev", "staging"]);
    assert.deepEqual(labConfigFrom(entries("true")).config.clusterMesh, CLUSTERS);
    assert.deepEqual(labConfigFrom(entries(["dev", "platform"])).config.clusterMesh, ["platform", "dev"]);
  });

  const refusals: [what: string, raw: RawConfig, expected: string][] = [
    [
      "a misspelt cluster name",
      meshRaw(["platform", "stagin"]),
      'tartlab:clusterMesh[1] "stagin" is not one of the clusters (platform, dev, staging); did you mean "staging"?',
    ],
    [
      "a cluster name nothing is close to",
      meshRaw(["platform", "production"]),
      'tartlab:clusterMesh[1] "production" is not one of the clusters (platform, dev, staging); name an existing cluster',
    ],
    [
      "a cluster listed twice",
      meshRaw(["dev", "platform", "dev"]),
      'tartlab:clusterMesh[2] lists "dev" again; list each cluster once',
    ],
    [
      "one cluster",
      meshRaw(["dev"]),
      'tartlab:clusterMesh ["dev"] meshes fewer than two clusters; list at least two cluster names, or set tartlab:clusterMesh false',
    ],
    [
      "an empty list",
      meshRaw([]),
      "tartlab:clusterMesh [] meshes fewer than two clusters; list at least two cluster names, or set tartlab:clusterMesh false",
    ],
    [
      "true in a lab of one cluster",
      meshRaw(true, (c) => c.clusters.splice(1, 2)),
      'tartlab:clusterMesh true meshes every cluster, but the lab has only "platform"; add a cluster or set tartlab:clusterMesh false',
    ],
    [
      "a number",
      meshRaw(2),
      'tartlab:clusterMesh must be true, false or a list of cluster names (e.g. ["platform", "dev"]), got 2',
    ],
    [
      "a word",
      meshRaw("yes"),
      'tartlab:clusterMesh must be true, false or a list of cluster names (e.g. ["platform", "dev"]), got "yes"',
    ],
    [
      "a list entry that is not a name",
      meshRaw(["dev", 3, "platform"]),
      "tartlab:clusterMesh[1] must be a cluster name, got 3",
    ],
    [
      "Jenkins' NodePort equal to the mesh's on a meshed cluster",
      meshRaw(true, (c) => (c.jenkins.nodePort = 32379)),
      'tartlab:jenkins.nodePort 32379 is the ClusterMesh API server\'s NodePort on cluster "platform" (tartlab:clusterMesh); give Jenkins another port between 30000 and 32767',
    ],
  ];
  for (const [what, raw, expected] of refusals) {
    test(`refused: ${what}`, () => assert.deepEqual(problemsOf(raw), [expected]));
  }

  test("Jenkins on the mesh's NodePort is fine on a cluster outside the mesh, or disabled", () => {
    assert.deepEqual(problemsOf(meshRaw(["dev", "staging"], (c) => (c.jenkins.nodePort = 32379))), []);
    assert.deepEqual(problemsOf(meshRaw(true, (c) => (c.jenkins = { enabled: false, nodePort: 32379 }))), []);
  });

  test("a mesh whose clusters have overlapping pod CIDRs or colliding cluster ids is refused, with the key to change", () => {
    assert.deepEqual(problemsOf(meshRaw(true, (c) => (c.clusters[2].podCidr = c.clusters[1].podCidr))), [
      'cluster "staging" podCidr 10.20.0.0/16 overlaps cluster "dev" podCidr 10.20.0.0/16; give each cluster its own pod and service ranges (e.g. 10.10.0.0/16 and 10.96.0.0/16)',
    ]);
    const [id] = problemsOf(
      meshRaw(
        ["dev", "staging"],
        (c) => (c.clusters[2].id = validateLabConfig(devRawConfig()).config.clusters[1].id),
      ),
    );
    assert.match(
      id,
      /^cluster "staging" id \d+ \(set explicitly\) is already the Cilium cluster id of cluster "dev"/,
    );
    assert.match(id, /give cluster "staging" an explicit id between 1 and 255 that no other cluster has$/);
  });

  test("pulumi up refuses a bad mesh before any resource is registered, with a RunError", async () => {
    await assert.rejects(
      runLab({ ...devStackConfig(), "tartlab:clusterMesh": ["platform", "devv"] }),
      (e: Error) => {
        assert.ok(pulumi.RunError.isInstance(e));
        assert.match(
          e.message,
          /tartlab:clusterMesh\[1\] "devv" is not one of the clusters .*did you mean "dev"\?/,
        );
        return true;
      },
    );
    assert.deepEqual(lastRecorder?.registrations, []);
  });
});

describe("ClusterMesh graph, default lab", () => {
  const meshed = () => sharedLab({ ...devStackConfig(), "tartlab:clusterMesh": true });

  test("mesh-ready per cluster: on its control plane, after its own and every peer's nodes-Ready gate, with its peers in config order", async () => {
    const { recorder: rec } = await meshed();
    const host = (c: string) => unwrap(rec.byName(`${c}-nodes-ready`).inputs.connection).host;
    for (const c of CLUSTERS) {
      const r = rec.byName(`${c}-mesh-ready`);
      const peers = CLUSTERS.filter((p) => p !== c);
      for (const g of [c, ...peers])
        assert.ok(r.dependencies.includes(`${g}-nodes-ready`), `${c}-mesh-ready after ${g}-nodes-ready`);
      assert.equal(
        unwrap(r.inputs.connection).host,
        unwrap(rec.byName(`${c}-nodes-ready`).inputs.connection).host,
      );
      assert.equal(r.inputs.create, "sudo -n bash -s -- create");
      assert.deepEqual(bundleEnv(unwrap(r.inputs.stdin)), {
        CLUSTER_NAME: c,
        PEERS: peers.join(" "),
        PEER_ADDRESSES: peers.map((p) => `${p} ${host(p)}`).join("\n"),
      });
    }
  });

  test("nothing waits for a mesh-ready step: a slow mesh never holds back Jenkins or local-path", async () => {
    const { recorder: rec } = await meshed();
    const ready = new Set(CLUSTERS.map((c) => `${c}-mesh-ready`));
    for (const r of rec.registrations) {
      const waits = [...waitsFor(rec, r.name)].filter((d) => ready.has(d));
      assert.deepEqual(waits, [], `${r.name} waits for a mesh-ready step`);
    }
  });

  test("each meshed cluster's Cilium values come after every peer's control plane address and the CA", async () => {
    const { recorder: rec } = await meshed();
    for (const c of CLUSTERS) {
      const deps = rec.byName(`${c}-cilium`).propertyDependencies.values;
      for (const p of CLUSTERS)
        assert.ok(deps.includes(`${p}-master-address`), `${c} values after ${p}'s address`);
      assert.ok(
        deps.includes("cluster-mesh-ca") && deps.includes("cluster-mesh-ca-key"),
        `${c}: after the CA`,
      );
    }
  });

  test("the CA: ECDSA P-256, a self-signed CA certificate for signing, made once for the lab", async () => {
    const { recorder: rec } = await meshed();
    assert.deepEqual(
      rec.registrations.filter((r) => r.type.startsWith("tls:")).map((r) => [r.type, r.name, r.parent]),
      [
        ["tls:index/privateKey:PrivateKey", "cluster-mesh-ca-key", "cluster-mesh"],
        ["tls:index/selfSignedCert:SelfSignedCert", "cluster-mesh-ca", "cluster-mesh"],
      ],
    );
    assert.deepEqual(rec.byName("cluster-mesh-ca-key").inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = rec.byName("cluster-mesh-ca").inputs;
    assert.equal(cert.isCaCertificate, true);
    assert.deepEqual(cert.allowedUses, ["cert_signing", "digital_signature", "key_encipherment"]);
    assert.ok(cert.validityPeriodHours >= 5 * 365 * 24, `${cert.validityPeriodHours} h`);
  });

  test("the CA's values for the chart are a secret, whatever the TLS provider marks", async () => {
    let ca: pulumi.Output<unknown> | undefined;
    await evaluate(() => (ca = new ClusterMeshCa("m").ca));
    assert.equal(await (ca as any).isSecret, true);
    const { cert, key } = await new Promise<any>((resolve) => ca!.apply(resolve));
    assert.deepEqual(
      [cert, key],
      [FAKE_CA_CERT_PEM, FAKE_CA_KEY_PEM].map((pem) => Buffer.from(pem).toString("base64")),
    );
  });

  test("without the mesh: no CA, no mesh-ready step, no mesh values", async () => {
    const { recorder: rec } = await sharedLab(devStackConfig());
    assert.deepEqual(
      rec.registrations.filter((r) => /mesh/.test(r.name) || r.type.startsWith("tls:")).map((r) => r.name),
      [],
    );
    for (const c of CLUSTERS) {
      const v = rec.byName(`${c}-cilium`).inputs.values;
      assert.equal(v.clustermesh, undefined);
      assert.equal(v.tls, undefined);
    }
  });
});
