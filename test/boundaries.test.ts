/**
 * Boundary rows for every resource limit: exactly at the limit, one under, one over, in the unit each is
 * counted in. Config limits (lib/lab-config.ts) are integers: CPUs, MB (MiB, Tart's --memory), GB (Tart's
 * --disk-size), seconds, ports. Host limits (lib/host.ts) are bytes: memory in GiB (2^30, as macOS and Tart count),
 * disk in GB (10^9, as df and Tart count); the memory rows are in test/host.test.ts.
 */
import assert from "node:assert/strict";
import { configProblems } from "./harness/config";
import { describe, test } from "node:test";
import { MIN_FREE_DISK_BYTES, checkHost } from "../lib/host";
import { RawConfig, allNodes, validateLabConfig } from "../lib/lab-config";
import { MAC_FACTS, devRawConfig } from "./harness/pulumi";

function problemsOf(mutate: (c: RawConfig & Record<string, any>) => void): string[] {
  const raw = devRawConfig();
  mutate(raw);
  return configProblems(raw);
}

describe("config limits (lib/lab-config.ts): at, under and over each", () => {
  const node = 'cluster "platform" node "platform-master"';
  // [key, set, value, expected problems]
  const rows: [string, (c: any, v: unknown) => void, unknown, string[]][] = [];
  const limit = (
    key: string,
    where: string,
    set: (c: any, v: unknown) => void,
    min: number,
    max: number,
    unit: string,
    why = "",
  ) => {
    rows.push(
      [key, set, min - 1, [`${where} ${min - 1} is below the minimum ${min} ${unit}${why}`]],
      [key, set, min, []],
      [key, set, min + 1, []],
      [key, set, max - 1, []],
      [key, set, max, []],
      [key, set, max + 1, [`${where} ${max + 1} is above the maximum ${max} ${unit}`]],
    );
  };
  // kubeadm preflight: a control plane needs 2 CPUs and 1700 MB; Tart disks only grow from the image's 20 GB.
  const cpuWhy = " (kubeadm's preflight refuses a control plane with fewer than 2 CPUs)";
  const memoryWhy =
    " (kubeadm's preflight wants 1700 MB, and Ubuntu, containerd and the Cilium agent need the rest)";
  const diskWhy = " (the base image's disk is 20 GB and Tart cannot shrink it)";
  limit("cpus", `${node} cpus`, (c, v) => (c.clusters[0].nodes[0].cpus = v), 2, 32, "CPUs", cpuWhy);
  limit(
    "memoryMb",
    `${node} memoryMb`,
    (c, v) => (c.clusters[0].nodes[0].memoryMb = v),
    2048,
    131072,
    "MB",
    memoryWhy,
  );
  limit("diskGb", `${node} diskGb`, (c, v) => (c.clusters[0].nodes[0].diskGb = v), 20, 2000, "GB", diskWhy);
  limit(
    "id",
    'cluster "platform" id',
    (c, v) => {
      c.clusters[0].id = v;
      c.clusters[2].id = 100; // staging's derived id is 254, which the max - 1 row uses
    },
    1,
    255,
    "(Cilium cluster id)",
  );
  limit(
    "nodePort",
    "tartlab:jenkins.nodePort",
    (c, v) => (c.jenkins.nodePort = v),
    30000,
    32767,
    "(NodePort range)",
  );
  limit("ipWaitSeconds", "tartlab:ipWaitSeconds", (c, v) => (c.ipWaitSeconds = v), 10, 3600, "seconds");
  rows.push(
    // Not whole numbers / not numbers.
    [
      "cpus",
      (c, v) => (c.clusters[0].nodes[0].cpus = v),
      2.5,
      [`${node} cpus must be a whole number of CPUs, got 2.5`],
    ],
    [
      "memoryMb",
      (c, v) => (c.clusters[0].nodes[0].memoryMb = v),
      "4096",
      [`${node} memoryMb must be a number (MB), got "4096"`],
    ],
    // memoryMb counts MiB (Tart --memory): "2 GB" written as 2000 is under the 2048 MiB minimum.
    [
      "memoryMb",
      (c, v) => (c.clusters[0].nodes[0].memoryMb = v),
      2000,
      [`${node} memoryMb 2000 is below the minimum 2048 MB${memoryWhy}`],
    ],
    // A scalar stack setting arrives as a string from `pulumi config set`: digits only.
    ["ipWaitSeconds", (c, v) => (c.ipWaitSeconds = v), "10", []],
    [
      "ipWaitSeconds",
      (c, v) => (c.ipWaitSeconds = v),
      "9",
      ["tartlab:ipWaitSeconds 9 is below the minimum 10 seconds"],
    ],
    [
      "ipWaitSeconds",
      (c, v) => (c.ipWaitSeconds = v),
      "3601",
      ["tartlab:ipWaitSeconds 3601 is above the maximum 3600 seconds"],
    ],
    [
      "ipWaitSeconds",
      (c, v) => (c.ipWaitSeconds = v),
      "10 ",
      ['tartlab:ipWaitSeconds must be a number (seconds), got "10 "'],
    ],
    [
      "ipWaitSeconds",
      (c, v) => (c.ipWaitSeconds = v),
      "10.0",
      ['tartlab:ipWaitSeconds must be a number (seconds), got "10.0"'],
    ],
    [
      "ipWaitSeconds",
      (c, v) => (c.ipWaitSeconds = v),
      10.5,
      ["tartlab:ipWaitSeconds must be a whole number of seconds, got 10.5"],
    ],
  );
  for (const [key, set, value, expected] of rows) {
    test(`${key} = ${JSON.stringify(value)}`, () => {
      assert.deepEqual(
        problemsOf((c) => set(c, value)),
        expected,
      );
    });
  }
});

describe("host limits (lib/host.ts): at, under and over each", () => {
  const lab = validateLabConfig(devRawConfig()).config;
  const nodes = allNodes(lab);
  const GB = 1e9;
  const GIB = 2 ** 30;

  test("CPUs: a node may ask for exactly the Mac's CPUs, not one more", () => {
    const most = Math.max(...nodes.map(({ node }) => node.cpus));
    assert.equal(most, 2, "the dev lab's nodes ask for 2 CPUs");
    const cpuProblems = (cpus: number) => checkHost({ ...MAC_FACTS, cpus }, lab).problems;
    assert.deepEqual(cpuProblems(most), []);
    assert.deepEqual(cpuProblems(most + 1), []);
    assert.deepEqual(
      cpuProblems(most - 1),
      nodes.map(({ node }) => `node ${node.name} asks for 2 CPUs but this Mac has 1; lower its cpus`),
    );
  });

  describe("free disk: the minimum in GB (10^9 bytes), exact, one byte under, one over", () => {
    const min = MIN_FREE_DISK_BYTES(nodes.length);
    const want = nodes.reduce((s, { node }) => s + node.diskGb * GB, 0);
    const check = (freeDiskBytes: number) => checkHost({ ...MAC_FACTS, freeDiskBytes }, lab);
    const tooLittle = (free: string) =>
      `only ${free} free disk; 7 VMs need at least 45 GB; free space (tart prune --entries caches) or remove nodes`;
    const mayGrow = (free: string) =>
      `VM disks may grow to 190 GB in all but only ${free} is free; disks are sparse, so this is fine until they fill up`;

    test("the figures: 10 GB + 5 GB per VM, and the sum of diskGb", () => {
      assert.equal(min, 45 * GB);
      assert.equal(want, 190 * GB);
    });
    test("exactly the minimum: no problem (a warning: the disks could outgrow it)", () => {
      assert.deepEqual(check(min), { problems: [], warnings: [mayGrow("45 GB")] });
    });
    test("one byte over the minimum", () => {
      assert.deepEqual(check(min + 1), { problems: [], warnings: [mayGrow("45 GB")] });
    });
    test("one byte under: refused, and the free figure rounds down (never '45 GB free, need 45 GB')", () => {
      assert.deepEqual(check(min - 1), { problems: [tooLittle("44.9 GB")], warnings: [] });
    });
    test("GiB are not GB: 42 GiB (45.1 GB) is enough, 41.9 GiB (44.99 GB) is not", () => {
      assert.deepEqual(check(42 * GIB).problems, []);
      assert.deepEqual(check(41.9 * GIB).problems, [tooLittle("44.9 GB")]);
    });
    test("the warning: exactly the disks' total plus 10 GB is quiet, one byte under warns", () => {
      assert.deepEqual(check(want + 10 * GB), { problems: [], warnings: [] });
      assert.deepEqual(check(want + 10 * GB - 1), { problems: [], warnings: [mayGrow("199.9 GB")] });
    });
  });
});
