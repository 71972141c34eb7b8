/**
 * The Cilium values tartlab sets, checked against the pinned chart itself (lib/versions.ts VERSIONS.cilium), fetched
 * by tools/cilium-chart.sh into .cilium-chart/<version>: the exact values of the default lab's releases, with the
 * mesh off and on, validate against the chart's values.schema.json, every key they set exists in its values.yaml,
 * and the chart defaults and templates the mesh relies on are what the code says they are.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import Ajv, { type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { MESH_NODE_PORT } from "../lib/lab-config";
import { VERSIONS } from "../lib/versions";
import { devStackConfig, sharedLab, unwrap } from "./harness/pulumi";

const CHART =
  process.env.TARTLAB_CILIUM_CHART ?? path.join(__dirname, "..", ".cilium-chart", VERSIONS.cilium);
const CLUSTERS = ["platform", "dev", "staging"];

/** A file of the chart; fails with the command that fetches the chart when it is not there. */
function chartFile(rel: string): string {
  const file = path.join(CHART, rel);
  if (!existsSync(file)) {
    assert.fail(
      `the Cilium ${VERSIONS.cilium} chart is not at ${CHART} (${rel} is missing); fetch it with: bash tools/cilium-chart.sh`,
    );
  }
  return readFileSync(file, "utf8");
}

/** Every key path of a values object, down to leaves (scalars and lists); `mapsAt` paths hold free-form keys. */
function keyPaths(v: unknown, mapsAt: ReadonlySet<string>, prefix = ""): string[] {
  if (v === null || typeof v !== "object" || Array.isArray(v) || mapsAt.has(prefix)) return [prefix];
  return Object.entries(v).flatMap(([k, x]) => keyPaths(x, mapsAt, prefix ? `${prefix}.${k}` : k));
}
const at = (doc: any, p: string): unknown =>
  p.split(".").reduce((o, k) => (o == null ? undefined : o[k]), doc);
const has = (doc: any, p: string): boolean => {
  const keys = p.split(".");
  const parent = at(doc, keys.slice(0, -1).join(".")) ?? (keys.length === 1 ? doc : undefined);
  return parent !== null && typeof parent === "object" && keys[keys.length - 1] in parent;
};
/** The chart's dict of peer clusters: its keys are cluster names, not chart keys. */
const PEERS_KEY = "clustermesh.config.clusters";

/** The exact values each release of the default lab gets, with the mesh off or on. */
async function labValues(mesh: boolean): Promise<Record<string, any>> {
  const config = mesh ? { ...devStackConfig(), "tartlab:clusterMesh": true } : devStackConfig();
  const { recorder } = await sharedLab(config);
  return Object.fromEntries(CLUSTERS.map((c) => [c, unwrap(recorder.byName(`${c}-cilium`).inputs.values)]));
}

let defaults: any;
let validate: ValidateFunction;
before(() => {
  defaults = parse(chartFile("values.yaml"));
  const schema = JSON.parse(chartFile("values.schema.json"));
  // Draft-07, Ajv's default; the chart's schema uses annotation keywords of its own, which strict mode refuses.
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
});

describe(`the Cilium ${VERSIONS.cilium} chart`, () => {
  test("it is the pinned version", () => {
    assert.equal(parse(chartFile("Chart.yaml")).version, VERSIONS.cilium);
  });

  for (const mesh of [false, true]) {
    test(`the default lab's values ${mesh ? "with" : "without"} the mesh validate against values.schema.json`, async () => {
      for (const [cluster, values] of Object.entries(await labValues(mesh))) {
        assert.equal("clustermesh" in values, mesh, `${cluster}: mesh values ${mesh ? "set" : "absent"}`);
        assert.ok(validate(values), `${cluster}: ${JSON.stringify(validate.errors, null, 1)}`);
      }
    });

    test(`every key the default lab's values ${mesh ? "with" : "without"} the mesh set exists in values.yaml`, async () => {
      for (const [cluster, values] of Object.entries(await labValues(mesh))) {
        const missing = keyPaths(values, new Set([PEERS_KEY])).filter((p) => !has(defaults, p));
        assert.deepEqual(missing, [], `${cluster}: keys the chart does not have`);
      }
    });
  }

  test("the schema and the key check refuse what the chart does not take", async () => {
    const { platform } = await labValues(true);
    // The schema types every key (it sets no enums and allows extra keys): a string where it wants a boolean.
    const mistyped = { ...platform, clustermesh: { ...platform.clustermesh, useAPIServer: "true" } };
    assert.ok(!validate(mistyped), "useAPIServer as a string");
    const typo = { ...platform, clustermesh: { ...platform.clustermesh, useAPIServe: true } };
    assert.deepEqual(
      keyPaths(typo, new Set([PEERS_KEY])).filter((p) => !has(defaults, p)),
      ["clustermesh.useAPIServe"],
    );
  });

  test("each peer entry uses only fields of the chart's documented dict form (port, ips)", async () => {
    const text = chartFile("values.yaml");
    for (const field of ["port", "ips"]) {
      assert.match(text, new RegExp(`^ {4}# {5}${field}:`, "m"), `values.yaml documents ${field}`);
    }
    for (const [cluster, values] of Object.entries(await labValues(true))) {
      for (const [peer, entry] of Object.entries(at(values, PEERS_KEY) as object)) {
        assert.deepEqual(Object.keys(entry).sort(), ["ips", "port"], `${cluster} -> ${peer}`);
      }
    }
  });

  test("the defaults and templates the mesh relies on", () => {
    // The chart signs the server and remote certificates itself, with tls.ca when it is set.
    assert.equal(at(defaults, "clustermesh.apiserver.tls.auto.enabled"), true);
    assert.equal(at(defaults, "clustermesh.apiserver.tls.auto.method"), "helm");
    assert.match(chartFile("templates/_helpers.tpl"), /\$crt := \.Values\.tls\.ca\.cert/);
    // With `ips`, a peer is dialled as <name>.<domain>, which the server certificate covers.
    assert.equal(at(defaults, "clustermesh.config.domain"), "mesh.cilium.io");
    assert.match(
      chartFile("templates/clustermesh-apiserver/tls-helm/server-secret.yaml"),
      /"\*\.mesh\.cilium\.io"/,
    );
    assert.match(
      chartFile("templates/clustermesh-config/_helpers.tpl"),
      /https:\/\/\{\{ \$cluster\.name \}\}\.\{\{ \$domain \}\}:\{\{ \$cluster\.port \}\}/,
    );
    // The NodePort is the chart's own, and answers on every node, the control plane included.
    assert.equal(at(defaults, "clustermesh.apiserver.service.nodePort"), MESH_NODE_PORT);
    assert.equal(at(defaults, "clustermesh.apiserver.service.externalTrafficPolicy"), "Cluster");
    // The chart does not leave the local cluster out of clustermesh.config.clusters: tartlab lists peers only.
    assert.doesNotMatch(chartFile("templates/clustermesh-config/_helpers.tpl"), /\.Values\.cluster\.name/);
  });
});
