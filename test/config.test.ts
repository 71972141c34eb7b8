import assert from "node:assert/strict";
import { configProblems } from "./harness/config";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { LabConfigError, RawConfig, clusterIdFromName, validateLabConfig } from "../lib/lab-config";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { labConfigFrom, loadStackFile } from "../lib/stack-config";
import { devRawConfig, devStackConfig, lastRecorder, runLab } from "./harness/pulumi";

const devRaw = devRawConfig;

const problemsOf = configProblems;

type Row = [title: string, mutate: (c: any) => void, expected: string];

const rows: Row[] = [
  [
    "a cluster's kubernetesVersion written as a YAML number (V02)",
    (c) => (c.clusters[1].kubernetesVersion = 1.3),
    'cluster "dev" kubernetesVersion is the number 1.3, not a string; YAML turns 1.30 into 1.3. Quote it: kubernetesVersion: "1.3" in the stack file',
  ],
  [
    "a cluster's kubernetesVersion that is not a version",
    (c) => (c.clusters[2].kubernetesVersion = "v1.36"),
    'cluster "staging" kubernetesVersion "v1.36" is not a version of the form "1.31" or "1.31.4"; drop the v: "1.36"',
  ],
  [
    "a cluster's kubernetesVersion older than kubeadm v1beta4",
    (c) => (c.clusters[0].kubernetesVersion = "1.30"),
    'cluster "platform" kubernetesVersion "1.30" is older than 1.31 (kubeadm config API v1beta4 needs 1.31 or newer)',
  ],
  [
    "duplicate cluster name",
    (c) => (c.clusters[1].name = "platform"),
    'clusters #1 and #2 are both named "platform"; cluster names must be unique',
  ],
  [
    "two cluster names that hash to the same Cilium cluster id",
    (c) => {
      c.clusters[0].name = "c1";
      c.clusters[1].name = "c27";
      c.jenkins.cluster = "c1";
    },
    'cluster "c27" id 196 (derived from its name) is already the Cilium cluster id of cluster "c1" (derived from its name); give cluster "c27" an explicit id between 1 and 255 that no other cluster has',
  ],
  [
    "an explicit cluster id equal to another cluster's derived id",
    (c) => (c.clusters[2].id = 52),
    'cluster "staging" id 52 (set explicitly) is already the Cilium cluster id of cluster "platform" (derived from its name); give cluster "staging" an explicit id between 1 and 255 that no other cluster has',
  ],
  [
    "two explicit cluster ids equal",
    (c) => {
      c.clusters[0].id = 7;
      c.clusters[1].id = 7;
    },
    'cluster "dev" id 7 (set explicitly) is already the Cilium cluster id of cluster "platform" (set explicitly); give cluster "dev" an explicit id between 1 and 255 that no other cluster has',
  ],
  [
    "cluster id out of Cilium's range",
    (c) => (c.clusters[0].id = 256),
    'cluster "platform" id 256 is above the maximum 255 (Cilium cluster id)',
  ],
  [
    "duplicate VM name across clusters",
    (c) => (c.clusters[2].nodes[1].name = "dev-worker1"),
    'cluster "staging" node name "dev-worker1" is already used in cluster "dev"; VM names must be unique across clusters',
  ],
  [
    "invalid DNS-1123 node name",
    (c) => (c.clusters[1].nodes[1].name = "Dev_Worker1"),
    'cluster "dev" node name "Dev_Worker1" is not a valid name: use at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. "dev-worker1")',
  ],
  [
    "cluster name longer than Cilium allows",
    (c) => (c.clusters[1].name = "a".repeat(33)),
    'cluster #2 name "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" is not a valid name: use at most 32 lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")',
  ],
  [
    "no control plane",
    (c) => (c.clusters[1].nodes[0].role = "worker"),
    'cluster "dev" has 0 control-plane nodes (none); exactly one node must have role "control-plane"',
  ],
  [
    "two control planes",
    (c) => (c.clusters[0].nodes[2].role = "control-plane"),
    'cluster "platform" has 2 control-plane nodes (platform-master, platform-worker2); exactly one node must have role "control-plane"',
  ],
  [
    "unknown role",
    (c) => (c.clusters[0].nodes[1].role = "master"),
    'cluster "platform" node "platform-worker1" role must be "control-plane" or "worker", got "master"',
  ],
  [
    "pod CIDRs of two clusters overlap",
    (c) => (c.clusters[1].podCidr = "10.10.0.0/16"),
    'cluster "dev" podCidr 10.10.0.0/16 overlaps cluster "platform" podCidr 10.10.0.0/16; give each cluster its own pod and service ranges (e.g. 10.10.0.0/16 and 10.96.0.0/16)',
  ],
  [
    "pod and service range of one cluster overlap",
    (c) => (c.clusters[0].serviceCidr = "10.10.128.0/20"),
    'cluster "platform" serviceCidr 10.10.128.0/20 overlaps cluster "platform" podCidr 10.10.0.0/16; give each cluster its own pod and service ranges (e.g. 10.10.0.0/16 and 10.96.0.0/16)',
  ],
  [
    "service range reused by another cluster",
    (c) => (c.clusters[2].serviceCidr = "10.96.0.0/16"),
    'cluster "staging" serviceCidr 10.96.0.0/16 overlaps cluster "platform" serviceCidr 10.96.0.0/16; give each cluster its own pod and service ranges (e.g. 10.10.0.0/16 and 10.96.0.0/16)',
  ],
  [
    "overlap with the host's VM network",
    (c) => (c.clusters[1].podCidr = "192.168.0.0/16"),
    'cluster "dev" podCidr 192.168.0.0/16 overlaps tartlab:vmNetworkCidr 192.168.64.0/24; cluster ranges must stay clear of the VM network (pick e.g. 10.x.0.0/16)',
  ],
  [
    "malformed CIDR",
    (c) => (c.clusters[0].podCidr = "10.10.0.0/33"),
    'cluster "platform" podCidr "10.10.0.0/33" is not a CIDR; write it as address/prefix, e.g. "10.10.0.0/16"',
  ],
  [
    "CIDR with host bits",
    (c) => (c.clusters[0].podCidr = "10.10.1.0/16"),
    'cluster "platform" podCidr "10.10.1.0/16" has host bits set; did you mean "10.10.0.0/16"?',
  ],
  [
    "IPv6 CIDR",
    (c) => (c.clusters[0].podCidr = "fd00::/48"),
    'cluster "platform" podCidr "fd00::/48" must be an IPv4 CIDR in dotted form (Softnet passes IPv4 only)',
  ],
  [
    "CIDR given as a number",
    (c) => (c.clusters[0].serviceCidr = 10),
    'cluster "platform" serviceCidr must be a CIDR string such as "10.96.0.0/16", got 10',
  ],
  [
    "pod CIDR too small for the nodes",
    (c) => (c.clusters[0].podCidr = "10.10.0.0/24"),
    'cluster "platform" podCidr "10.10.0.0/24" is too small: each of the 3 nodes gets a /24; use a /16',
  ],
  [
    "service CIDR larger than kube-apiserver accepts",
    (c) => (c.clusters[0].serviceCidr = "172.0.0.0/8"),
    'cluster "platform" serviceCidr "172.0.0.0/8" must have a prefix between /12 and /28; use a /16',
  ],
  [
    "Kubernetes version as a YAML number (V02)",
    (c) => (c.kubernetesVersion = 1.3),
    'tartlab:kubernetesVersion is the number 1.3, not a string; YAML turns 1.30 into 1.3. Quote it: tartlab:kubernetesVersion: "1.3" (pulumi config set tartlab:kubernetesVersion -- "<version>" stores a string)',
  ],
  [
    "Kubernetes version 1.30 already collapsed to the string 1.3 (V02)",
    (c) => (c.kubernetesVersion = "1.3"),
    'tartlab:kubernetesVersion "1.3" is older than 1.31 (if you wrote 1.30 unquoted, YAML read it as 1.3; quote it)',
  ],
  [
    "malformed Kubernetes version",
    (c) => (c.kubernetesVersion = "v1.33"),
    'tartlab:kubernetesVersion "v1.33" is not a version of the form "1.31" or "1.31.4"; drop the v: "1.33"',
  ],
  [
    "Kubernetes minor without kubeadm v1beta4",
    (c) => (c.kubernetesVersion = "1.29"),
    'tartlab:kubernetesVersion "1.29" is older than 1.31 (kubeadm config API v1beta4 needs 1.31 or newer)',
  ],
  [
    "Cilium version as a YAML number (V02)",
    (c) => (c.ciliumVersion = 1.2),
    'tartlab:ciliumVersion is the number 1.2, not a string; YAML turns 1.30 into 1.3. Quote it: tartlab:ciliumVersion: "1.2" (pulumi config set tartlab:ciliumVersion -- "<version>" stores a string)',
  ],
  [
    "Cilium 1.20 collapsed to 1.2 (V02)",
    (c) => (c.ciliumVersion = "1.2"),
    'tartlab:ciliumVersion "1.2" is older than 1.14, the first release with kubeProxyReplacement "true" (if you wrote 1.20 unquoted, YAML read it as 1.2)',
  ],
  [
    "too few CPUs",
    (c) => (c.clusters[0].nodes[0].cpus = 1),
    'cluster "platform" node "platform-master" cpus 1 is below the minimum 2 CPUs (kubeadm\'s preflight refuses a control plane with fewer than 2 CPUs)',
  ],
  [
    "memory not a whole number",
    (c) => (c.clusters[0].nodes[0].memoryMb = 4096.5),
    'cluster "platform" node "platform-master" memoryMb must be a whole number of MB, got 4096.5',
  ],
  [
    "too little memory",
    (c) => (c.clusters[0].nodes[1].memoryMb = 1024),
    'cluster "platform" node "platform-worker1" memoryMb 1024 is below the minimum 2048 MB (kubeadm\'s preflight wants 1700 MB, and Ubuntu, containerd and the Cilium agent need the rest)',
  ],
  [
    "disk smaller than the image",
    (c) => (c.clusters[1].nodes[0].diskGb = 10),
    'cluster "dev" node "dev-master" diskGb 10 is below the minimum 20 GB (the base image\'s disk is 20 GB and Tart cannot shrink it)',
  ],
  [
    "memory given as a string",
    (c) => (c.clusters[1].nodes[0].memoryMb = "4096"),
    'cluster "dev" node "dev-master" memoryMb must be a number (MB), got "4096"',
  ],
  [
    "misspelled key",
    (c) => {
      c.clusters[0].podCIDR = c.clusters[0].podCidr;
    },
    'cluster "platform" has an unknown key "podCIDR"; did you mean "podCidr"?',
  ],
  [
    "Jenkins on a cluster that does not exist",
    (c) => (c.jenkins.cluster = "prod"),
    'tartlab:jenkins.cluster "prod" is not one of the clusters (platform, dev, staging); name an existing cluster or set tartlab:jenkins.enabled false',
  ],
  [
    "no clusters at all",
    (c) => delete c.clusters,
    "tartlab:clusters is not set; copy the clusters block of Pulumi.dev.yaml into your stack file",
  ],
  [
    "softnet allow-list entry malformed",
    (c) => (c.softnetAllow = "0.0.0.0/0,bogus"),
    'tartlab:softnetAllow[1] "bogus" is not a CIDR; write it as address/prefix, e.g. "10.10.0.0/16"',
  ],
];

describe("lab config validation", () => {
  test("Pulumi.dev.yaml's default lab passes: 3 clusters, 7 VMs", () => {
    const { config, warnings } = validateLabConfig(devRaw());
    assert.deepEqual(
      config.clusters.map((c) => [c.name, c.id, c.nodes.map((n) => n.name)]),
      [
        ["platform", 52, ["platform-master", "platform-worker1", "platform-worker2"]],
        ["dev", 191, ["dev-master", "dev-worker1"]],
        ["staging", 254, ["staging-master", "staging-worker1"]],
      ],
    );
    assert.deepEqual(warnings, [], "the default Kubernetes/Cilium pair is one Cilium documents as tested");
  });

  for (const [title, mutate, expected] of rows) {
    test(`rejects: ${title}`, () => {
      const raw = devRaw();
      mutate(raw);
      assert.deepEqual(problemsOf(raw), [expected]);
    });
  }

  test("Cilium cluster ids: derived from the name (never the position), an explicit id wins", () => {
    const ids = (raw: RawConfig) =>
      Object.fromEntries(validateLabConfig(raw).config.clusters.map((c) => [c.name, c.id]));
    const raw = devRaw();
    const before = ids(raw);
    assert.deepEqual(before, { platform: clusterIdFromName("platform"), dev: 191, staging: 254 });
    const reordered = devRaw();
    reordered.clusters.reverse();
    assert.deepEqual(ids(reordered), before, "reordering changes no id");
    const inserted = devRaw();
    inserted.clusters.unshift({
      name: "qa",
      podCidr: "10.40.0.0/16",
      serviceCidr: "10.99.0.0/16",
      nodes: [{ name: "qa-master", role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 25 }],
    });
    assert.deepEqual(ids(inserted), { qa: clusterIdFromName("qa"), ...before }, "inserting changes no id");
    const removed = devRaw();
    removed.clusters.splice(1, 1);
    assert.deepEqual(ids(removed), { platform: 52, staging: 254 }, "removing changes no id");
    const explicit = devRaw();
    explicit.clusters[1].id = 2;
    assert.equal(ids(explicit).dev, 2);
    for (const name of ["platform", "a", "x".repeat(32)]) {
      const id = clusterIdFromName(name);
      assert.ok(Number.isInteger(id) && id >= 1 && id <= 255, `${name} -> ${id}`);
    }
  });

  test("versions arrive unchanged as strings (V02)", () => {
    for (const v of ["1.32", "1.33.0", "1.32.4"]) {
      const { config } = validateLabConfig({ ...devRaw(), kubernetesVersion: v });
      assert.equal(config.kubernetesVersion, v);
      assert.equal(typeof config.kubernetesVersion, "string");
    }
  });

  test("a cluster's own kubernetesVersion wins over the lab's, arrives unchanged as a string, and names its key (V02)", () => {
    const raw = devRaw();
    raw.kubernetesVersion = "1.34";
    raw.clusters[1].kubernetesVersion = "1.35.2";
    const { config } = validateLabConfig(raw);
    assert.deepEqual(
      config.clusters.map((c) => [c.name, c.kubernetesVersion, c.kubernetesVersionKey]),
      [
        ["platform", "1.34", "tartlab:kubernetesVersion"],
        ["dev", "1.35.2", 'cluster "dev" kubernetesVersion'],
        ["staging", "1.34", "tartlab:kubernetesVersion"],
      ],
    );
    assert.equal(
      validateLabConfig(devRaw()).config.clusters[0].kubernetesVersion,
      "1.35",
      "the lab's default",
    );
  });

  test("the seed's Kubernetes 1.31 is refused with the default Cilium (older than every minor it is tested with), accepted with Cilium 1.18", () => {
    assert.deepEqual(problemsOf({ ...devRaw(), kubernetesVersion: "1.31" }), [
      'tartlab:kubernetesVersion "1.31": Cilium 1.19.8 (tartlab:ciliumVersion) does not support Kubernetes 1.31, ' +
        "older than every minor it is tested with (1.32, 1.33, 1.34, 1.35; lib/versions.ts); set " +
        "tartlab:kubernetesVersion to one of those, or tartlab:ciliumVersion to a release that lists 1.31",
    ]);
    const with118 = validateLabConfig({ ...devRaw(), kubernetesVersion: "1.31", ciliumVersion: "1.18.14" });
    assert.equal(with118.config.kubernetesVersion, "1.31");
    assert.deepEqual(with118.warnings, []);
  });

  test("a cluster's own Kubernetes version is checked against Cilium too, by its own key", () => {
    const raw = devRaw();
    raw.clusters[1].kubernetesVersion = "1.31.2";
    assert.deepEqual(problemsOf(raw), [
      'cluster "dev" kubernetesVersion "1.31.2": Cilium 1.19.8 (tartlab:ciliumVersion) does not support ' +
        "Kubernetes 1.31, older than every minor it is tested with (1.32, 1.33, 1.34, 1.35; lib/versions.ts); set " +
        'cluster "dev" kubernetesVersion to one of those, or tartlab:ciliumVersion to a release that lists 1.31',
    ]);
    raw.clusters[1].kubernetesVersion = "1.36";
    assert.deepEqual(validateLabConfig(raw).warnings, [
      "Cilium 1.19.8 does not list Kubernetes 1.36 as e2e tested (tested: 1.32, 1.33, 1.34, 1.35)",
    ]);
  });

  test("a Cilium release without recorded compatibility data only warns", () => {
    const { warnings } = validateLabConfig({
      ...devRaw(),
      kubernetesVersion: "1.31",
      ciliumVersion: "1.20.1",
    });
    assert.deepEqual(warnings, [
      "Cilium 1.20.1 does not list Kubernetes 1.31 as e2e tested (no compatibility data recorded in lib/versions.ts)",
    ]);
  });

  test("defaults come from lib/versions.ts when the stack sets no versions", () => {
    const { config } = validateLabConfig(devRaw());
    assert.equal(config.kubernetesVersion, "1.35");
    assert.equal(config.ciliumVersion, "1.19.8");
    assert.equal(config.baseImage, "ghcr.io/cirruslabs/ubuntu:24.04");
  });

  test("a Kubernetes minor newer than Cilium's tested ones is a warning, not an error", () => {
    const { warnings } = validateLabConfig({ ...devRaw(), kubernetesVersion: "1.36" });
    assert.deepEqual(warnings, [
      "Cilium 1.19.8 does not list Kubernetes 1.36 as e2e tested (tested: 1.32, 1.33, 1.34, 1.35)",
    ]);
  });

  test("every problem is reported at once", () => {
    const raw = devRaw();
    raw.kubernetesVersion = 1.3;
    raw.clusters[1].name = "platform";
    assert.equal(problemsOf(raw).length, 2);
  });

  test("a bad config fails the program before any resource is registered", async () => {
    const config = devStackConfig() as any;
    config["tartlab:clusters"][1].podCidr = "10.10.0.0/16";
    const run = runLab(config);
    await assert.rejects(run, (e: Error) => {
      // A RunError: Pulumi prints its message once, without the program's stack trace.
      assert.ok(pulumi.RunError.isInstance(e), `${e.name} is not a RunError`);
      assert.match(e.message, /cluster "dev" podCidr 10\.10\.0\.0\/16 overlaps cluster "platform" podCidr/);
      return true;
    });
    assert.deepEqual(lastRecorder?.registrations, []);
  });
});

describe("unknown keys are refused with the closest valid key", () => {
  const refusal = (entries: Record<string, unknown>): string[] => {
    try {
      labConfigFrom(entries);
    } catch (e) {
      if (e instanceof LabConfigError) return [...e.problems];
      throw e;
    }
    return [];
  };

  test("a misspelt top-level key", () => {
    const config = { ...devStackConfig(), "tartlab:kubernetesVerison": "1.34" };
    assert.deepEqual(refusal(config), [
      'tartlab config has an unknown key "tartlab:kubernetesVerison"; did you mean "tartlab:kubernetesVersion"?',
    ]);
  });

  test("a top-level key close to nothing lists the valid keys; other namespaces are left alone", () => {
    const config = { ...devStackConfig(), "tartlab:flavour": "x", "kubernetes:context": "y" };
    const [problem, ...rest] = refusal(config);
    assert.deepEqual(rest, []);
    assert.match(
      problem,
      /^tartlab config has an unknown key "tartlab:flavour"; valid keys: .*tartlab:clusters/,
    );
  });

  test("secrets are known keys", () => {
    const config = {
      ...devStackConfig(),
      "tartlab:sshPassword": { secure: "x" },
      "tartlab:sshPrivateKey": "k",
    };
    assert.deepEqual(refusal(config), []);
  });

  test("a misspelt key of a node and of jenkins, named by cluster and node", () => {
    const config = devStackConfig() as any;
    config["tartlab:clusters"][1].nodes[1].memoryMB = 4096;
    config["tartlab:jenkins"].nodeport = 32080;
    assert.deepEqual(refusal(config), [
      'cluster "dev" node "dev-worker1" has an unknown key "memoryMB"; did you mean "memoryMb"?',
      'tartlab:jenkins has an unknown key "nodeport"; did you mean "nodePort"?',
    ]);
  });

  test("pulumi up refuses a misspelt key before any resource is registered, with a RunError", async () => {
    await assert.rejects(runLab({ ...devStackConfig(), "tartlab:goldenImag": "true" }), (e: Error) => {
      assert.ok(pulumi.RunError.isInstance(e));
      assert.match(e.message, /unknown key "tartlab:goldenImag"; did you mean "tartlab:goldenImage"\?/);
      return true;
    });
    assert.deepEqual(lastRecorder?.registrations, []);
  });
});

describe("one loader for pulumi up and the commands", () => {
  test("a stack file pulumi up refuses is refused by the commands with the same problems", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tartlab-stack-"));
    try {
      const config = { ...devStackConfig(), "tartlab:goldenImage": "maybe", "tartlab:allowDataLos": true };
      writeFileSync(path.join(dir, "Pulumi.bad.yaml"), stringify({ config }));
      let fromFile: string[] = [];
      assert.throws(
        () => loadStackFile(dir, "bad"),
        (e: unknown) => e instanceof LabConfigError && (fromFile = [...e.problems]).length === 2,
      );
      await assert.rejects(runLab(config), (e: Error) => {
        for (const p of fromFile) assert.ok(e.message.includes(p), `pulumi up does not say: ${p}`);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
