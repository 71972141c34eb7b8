import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ClusterRecord, parseClusterRecord } from "../lib/cluster-record-format";
import { knownPatch, nextRecord, nodeVersion, versionChangeProblems } from "../lib/cluster-record-rules";
import { readClusterRecords, recordPath } from "../mac/cluster-record";
import { validateLabConfig } from "../lib/lab-config";
import { devRawConfig } from "./harness/pulumi";

const at = (version: string, nodes: Record<string, string> = {}): ClusterRecord => ({
  kubernetesVersion: version,
  nodes,
});
/** Where the problems say a cluster's record is. */
const recordFile = (cluster: string) => `/records/${cluster}.json`;
const configWith = (mutate: (raw: any) => void = () => {}) => {
  const raw = devRawConfig();
  mutate(raw);
  return validateLabConfig(raw).config;
};

describe("reading the records on the Mac", () => {
  test("a cluster with a record gets it; a cluster never built has none; a malformed one is an error naming the file", (t) => {
    const home = mkdtempSync(path.join(tmpdir(), "tartlab-records-"));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    mkdirSync(path.join(home, "clusters"));
    const record = at("1.35", { "dev-master": "1.35", "dev-worker1": "1.35" });
    writeFileSync(recordPath("dev", home), JSON.stringify(record));
    assert.deepEqual(readClusterRecords(configWith(), home), { dev: record });
    for (const [text, why] of [
      ["{", /not JSON/],
      ['{"kubernetesVersion":1.35,"nodes":{}}', /kubernetesVersion 1\.35 is not a version string/],
      ['{"kubernetesVersion":"1.35"}', /nodes is not an object/],
      ['{"kubernetesVersion":"1.35","nodes":{"a":135}}', /nodes\.a 135 is not a version string/],
      ['{"kubernetesVersion":"1.35","nodes":{},"baseImage":7}', /baseImage 7 is not an image name/],
      ['{"kubernetesVersion":"1.35","nodes":{},"images":[]}', /images is not an object/],
      ['{"kubernetesVersion":"1.35","nodes":{},"images":{"a":""}}', /images\.a "" is not an image name/],
      ['{"kubernetesVersion":"1.35","nodes":{},"podCidr":"wide"}', /podCidr "wide" is not a CIDR/],
      ['{"kubernetesVersion":"1.35","nodes":{},"patch":"1.35"}', /patch "1\.35" is not an exact version/],
    ] as const) {
      writeFileSync(recordPath("dev", home), text);
      assert.throws(
        () => readClusterRecords(configWith(), home),
        (e: Error) =>
          e.message.includes(recordPath("dev", home)) && why.test(e.message) && /delete it/.test(e.message),
        text,
      );
    }
  });
  test("the record path is ~/.tartlab/clusters/<cluster>.json (TARTLAB_HOME in tests)", () => {
    assert.equal(recordPath("dev", "/h/.tartlab"), "/h/.tartlab/clusters/dev.json");
  });
  test("parse keeps versions as strings (V02)", () => {
    const r = parseClusterRecord('{"kubernetesVersion":"1.30","nodes":{"x":"1.30.0"}}', "f");
    assert.deepEqual(r, at("1.30", { x: "1.30.0" }));
  });
  test("parse keeps what each VM was cloned from and the cluster's ranges", () => {
    const text =
      '{"kubernetesVersion":"1.30","nodes":{"x":"1.30"},"baseImage":"b","images":{"x":"g"},' +
      '"podCidr":"10.1.0.0/16","serviceCidr":"10.2.0.0/16"}';
    assert.deepEqual(parseClusterRecord(text, "f"), {
      ...at("1.30", { x: "1.30" }),
      baseImage: "b",
      images: { x: "g" },
      podCidr: "10.1.0.0/16",
      serviceCidr: "10.2.0.0/16",
    });
  });
});

describe("version changes: one minor, one cluster, never down", () => {
  const records = { platform: at("1.35"), dev: at("1.35"), staging: at("1.35") };
  test("no change, one minor up on one cluster, a patch, or a first build: no problem", () => {
    assert.deepEqual(versionChangeProblems(configWith(), records, recordFile), []);
    assert.deepEqual(
      versionChangeProblems(
        configWith((r) => (r.clusters[1].kubernetesVersion = "1.36")),
        records,
        recordFile,
      ),
      [],
    );
    assert.deepEqual(
      versionChangeProblems(
        configWith((r) => (r.kubernetesVersion = "1.35.4")),
        records,
        recordFile,
      ),
      [],
    );
    assert.deepEqual(
      versionChangeProblems(
        configWith((r) => (r.kubernetesVersion = "1.33")),
        {},
        recordFile,
      ),
      [],
    );
  });
  test("a patch downgrade is refused; a bare minor after an exact patch is not", () => {
    const exact = { dev: at("1.35.4") };
    const down = versionChangeProblems(
      configWith((r) => (r.clusters[1].kubernetesVersion = "1.35.2")),
      exact,
      recordFile,
    );
    assert.equal(down.length, 1);
    assert.match(
      down[0],
      /^cluster "dev" kubernetesVersion "1\.35\.2": cluster dev runs 1\.35\.4 .*cannot downgrade/,
    );
    assert.deepEqual(versionChangeProblems(configWith(), exact, recordFile), []);
  });
  test("the lab-wide version moving one minor on every cluster is refused, naming each", () => {
    const p = versionChangeProblems(
      configWith((r) => (r.kubernetesVersion = "1.36")),
      records,
      recordFile,
    );
    assert.deepEqual(p, [
      'tartlab:kubernetesVersion "1.36", tartlab:kubernetesVersion "1.36", tartlab:kubernetesVersion "1.36" would ' +
        "upgrade clusters platform, dev, staging in one run; tartlab upgrades one cluster at a time. Set one " +
        "cluster's own kubernetesVersion (the others keep the version they run), run pulumi up, then the next",
    ]);
    // Pinning the others to what they run makes it one cluster.
    const one = configWith((r) => {
      r.kubernetesVersion = "1.36";
      r.clusters[1].kubernetesVersion = "1.35";
      r.clusters[2].kubernetesVersion = "1.35";
    });
    assert.deepEqual(versionChangeProblems(one, records, recordFile), []);
  });
});

describe("the version node steps carry", () => {
  const config = configWith((r) => (r.clusters[1].kubernetesVersion = "1.36"));
  const dev = config.clusters[1];
  test("first build: the configured version; existing node: the one it was prepared with; new node: the cluster's current", () => {
    assert.equal(nodeVersion(dev, "dev-worker1", undefined), "1.36");
    const record = at("1.35", { "dev-master": "1.35", "dev-worker1": "1.35" });
    assert.equal(nodeVersion(dev, "dev-worker1", record), "1.35");
    assert.equal(
      nodeVersion(dev, "dev-worker2", record),
      "1.35",
      "added before the upgrade ran: joins at 1.35",
    );
    assert.equal(nodeVersion(dev, "dev-worker2", at("1.36", { "dev-master": "1.35" })), "1.36");
  });
  test("a bare minor: a new node installs the recorded patch; a recorded bare node is pinned once the config names that patch", () => {
    const bare = configWith().clusters[1];
    const exact = configWith((r) => (r.kubernetesVersion = "1.35.1")).clusters[1];
    const record = { ...at("1.35", { "dev-master": "1.35", "dev-worker1": "1.35" }), patch: "1.35.1" };
    assert.equal(nodeVersion(bare, "dev-worker2", record), "1.35.1");
    assert.equal(nodeVersion(bare, "dev-worker1", record), "1.35", "its steps stay");
    assert.equal(nodeVersion(exact, "dev-worker1", record), "1.35.1");
    const newer = configWith((r) => (r.kubernetesVersion = "1.35.3")).clusters[1];
    assert.equal(
      nodeVersion(newer, "dev-worker1", record),
      "1.35",
      "a patch upgrade is the upgrade steps' job",
    );
    assert.equal(nodeVersion(exact, "dev-worker2", at("1.35", {})), "1.35.1", "an older record");
    assert.equal(nodeVersion(bare, "dev-worker2", at("1.35", {})), "1.35");
  });
  test("the exact version a run knows before it runs: the configured one, or the recorded patch of the same minor", () => {
    const bare = configWith().clusters[1];
    const record = { ...at("1.35"), patch: "1.35.1" };
    assert.equal(
      knownPatch(configWith((r) => (r.kubernetesVersion = "1.35.4")).clusters[1], record, false),
      "1.35.4",
    );
    assert.equal(knownPatch(bare, record, false), "1.35.1");
    assert.equal(knownPatch(bare, record, true), undefined, "a rebuilt cluster installs anew");
    assert.equal(knownPatch(bare, undefined, false), undefined, "a first build");
    assert.equal(knownPatch(dev, record, false), undefined, "a new minor");
  });
  test("the next record: the target, every configured node with its preparation version (removed nodes dropped)", () => {
    const record = at("1.35", { "dev-master": "1.35", "dev-worker1": "1.35", "dev-gone": "1.35" });
    const images = { "dev-master": "img-a", "dev-worker1": "img-b", "dev-gone": "img-c" };
    assert.deepEqual(nextRecord(dev, record, { baseImage: "base", images }), {
      ...at("1.36", { "dev-master": "1.35", "dev-worker1": "1.35" }),
      baseImage: "base",
      images: { "dev-master": "img-a", "dev-worker1": "img-b" },
      podCidr: "10.20.0.0/16",
      serviceCidr: "10.97.0.0/16",
    });
  });
});
