/**
 * What each config change does to a deployed lab, as the preview simulator (test/harness/preview.ts, rules in
 * docs/plans.md) computes it.
 * "up" is what `pulumi up` does when every step succeeds (same IPs as before); "preview" is what `pulumi preview`
 * shows (outputs of changed steps unknown). The program reads the clusters' version records the deployed lab wrote
 * on the Mac (mac/cluster-record.ts), as `pulumi up` would. The drift rows: what the drift check reports before
 * the graph runs (a VM at a new address, a repair) does to the deployed lab.
 *
 * Rows about several clusters (or a cluster of two workers) run on the default lab (Pulumi.dev.yaml); rows one
 * cluster shows run on the laptop lab (Pulumi.small.yaml: `small-master`, `small-worker1`), a third of its size.
 * Each plan is computed once per file and shared by the tests that read it.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { FakeK8sApi, healthyCluster, startFakeK8sApi } from "./harness/fake-k8s-api";
import { validateLabConfig } from "../lib/lab-config";
import { checkDataLoss } from "../mac/data-guard";
import * as path from "node:path";
import { tmpdir } from "node:os";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import {
  MAC_FACTS,
  bundleEnv,
  devStackConfig,
  fakeIp,
  setStackConfig,
  smallStackConfig,
  unwrap,
} from "./harness/pulumi";
import type { DriftReport } from "../lib/drift-report";
import { prepareLab } from "../program";
import {
  LabPlanOptions,
  Plan,
  State,
  deployLab,
  foundIn,
  planLab,
  recordsOf,
  singleVmViolations,
} from "./harness/preview";

type Config = Record<string, any>;

const CLUSTERS: Record<string, string[]> = {
  platform: ["platform-master", "platform-worker1", "platform-worker2"],
  dev: ["dev-master", "dev-worker1"],
  staging: ["staging-master", "staging-worker1"],
};
const VMS = Object.values(CLUSTERS).flat();
/** The laptop lab's one cluster. */
const SMALL = ["small-master", "small-worker1"];

/** A VM's own TartVm steps. */
const vmSteps = (vm: string) => [`${vm}-clone`, `${vm}-start`, `${vm}-address`];
/** Every step of one node's preparation (K8sNode). */
const nodeSteps = (vm: string) => [`${vm}-identity`, `${vm}-prepare`, `${vm}-ready`];
/** A VM's own chain: its TartVm and K8sNode steps. */
const vmChain = (vm: string) => [...vmSteps(vm), ...nodeSteps(vm)];
/** The per-worker steps of KubeadmCluster. */
const WORKER_STEPS = ["drain", "join", "join-token", "member", "netcheck", "uncordon", "upgrade"];
const workerSteps = (cluster: string, w: string, steps = WORKER_STEPS) =>
  steps.map((s) => `${cluster}-${w}-${s}`);
/** CiliumInstall's per-node step: the node's agent restarted when its CiliumNode names another address. */
const agentStep = (cluster: string, vm: string) => `${cluster}-${vm}-cilium-agent`;
/** A cluster's upgrade steps in the order they run: control plane, then each worker drain -> upgrade -> uncordon. */
const upgradeChain = (cluster: string) => [
  `${cluster}-upgrade`,
  ...CLUSTERS[cluster]
    .slice(1)
    .flatMap((w) => ["drain", "upgrade", "uncordon"].map((s) => `${cluster}-${w}-${s}`)),
  `${cluster}-version-record`,
];
/** Every Kubernetes object created through a cluster's provider (Jenkins only on platform). */
const k8sObjects = (cluster: string) => [
  `${cluster}-cilium`,
  `${cluster}-default-storageclass`,
  ...(cluster === "platform"
    ? ["platform-jenkins-admin-secret", "platform-jenkins-namespace", "platform-jenkins-release"]
    : []),
  ...[
    "namespace",
    "sa",
    "role",
    "rolebinding",
    "clusterrole",
    "clusterrolebinding",
    "config",
    "provisioner",
  ].map((o) => `${cluster}-local-path-${o}`),
];
const sorted = (xs: string[]) => [...xs].sort();
/** A VM's sizes (TartVm inputs of its start step). */
const SIZES = ["cpus", "memoryMb", "diskGb"];

/** The default lab's config, changed. */
function changed(mutate: (c: Config) => void, base = devStackConfig()): Config {
  const c = structuredClone(base) as Config;
  mutate(c);
  return c;
}
/** The laptop lab's config, changed. */
const smallChanged = (mutate: (c: Config) => void) => changed(mutate, smallStackConfig());
const clustersOf = (c: Config) => c["tartlab:clusters"] as any[];

/** The default lab after `pulumi up`. */
let deployed: State;
/** The laptop lab after `pulumi up`. */
let smallDeployed: State;

/** Plans already computed, per deployed state and (config, mode, --replace): several rows read the same plan. */
const plans = new WeakMap<State, Map<string, Promise<Plan>>>();
/** The plan of `config` over `state` (default: the deployed default lab), computed in the lab worker once per file. */
function planFor(config: Config, opts: LabPlanOptions = {}, state = deployed): Promise<Plan> {
  const key = JSON.stringify([config, opts.mode ?? "preview", opts.replace ?? [], opts.stdout ?? {}]);
  const known = plans.get(state) ?? new Map<string, Promise<Plan>>();
  plans.set(state, known);
  if (!known.has(key)) {
    known.set(key, planLab(state, { config, records: recordsOf(state), drift: foundIn(state) }, opts));
  }
  return known.get(key)!;
}
const smallPlanFor = (config: Config, opts: LabPlanOptions = {}) => planFor(config, opts, smallDeployed);

const deployedAt = new Map<string, Promise<State>>();
/**
 * The state after `pulumi up` of `config` over the deployed lab (the control plane upgrade prints v1.36.1),
 * computed once per config and records.
 */
function deployAt(config: Config, records = recordsOf(deployed)): Promise<State> {
  const key = JSON.stringify([config, records]);
  if (!deployedAt.has(key)) {
    deployedAt.set(
      key,
      deployLab({ config, records }, { "platform-upgrade": "v1.36.1", "platform-worker3-ready": "v1.36.1" }),
    );
  }
  return deployedAt.get(key)!;
}
/** The decoded script environment of a stored Command. */
const envIn = (state: State, name: string) =>
  bundleEnv(unwrap([...state.resources.values()].find((r) => r.reg.name === name)!.reg.inputs.stdin));

const deployedRelease = () =>
  [...deployed.resources.values()].find((r) => r.reg.name === "platform-jenkins-release")!.reg;
/** A resource of a deployed state, by name. */
const stored = (state: State, name: string) =>
  [...state.resources.values()].find((r) => r.reg.name === name)!;

/**
 * The default lab as mac/data-guard.ts sees it live: every VM's owner marker (tartlab/dev) in a temporary
 * ~/.tartlab and the platform cluster's API (fake, with these local-path volumes) behind its kubeconfig.
 */
async function withLiveLab(
  volumes: NonNullable<FakeK8sApi["state"]["volumes"]>,
  body: (guard: (config: Config) => ReturnType<typeof checkDataLoss>) => Promise<void>,
) {
  const home = mkdtempSync(path.join(tmpdir(), "tartlab-plans-"));
  const api = await startFakeK8sApi({ ...healthyCluster(CLUSTERS.platform), volumes });
  try {
    mkdirSync(path.join(home, "vms"));
    mkdirSync(path.join(home, "kube"));
    for (const vm of VMS) writeFileSync(path.join(home, "vms", `${vm}.owner`), "tartlab/dev\n");
    writeFileSync(path.join(home, "kube", "platform.yaml"), api.kubeconfig("platform"));
    await body((config) => {
      const raw = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^tartlab:/, ""), v]));
      return checkDataLoss(validateLabConfig(raw).config, "tartlab/dev", { env: { TARTLAB_HOME: home } });
    });
  } finally {
    await api.close();
    rmSync(home, { recursive: true, force: true });
  }
}

before(async () => {
  deployed = await deployLab({ config: devStackConfig() });
  smallDeployed = await deployLab({ config: smallStackConfig() });
});

describe("config changes, default lab", () => {
  test("the provider's identity: a re-read control-plane kubeconfig (unknown in preview) replaces no provider, because the identity is the control plane's clone id", async () => {
    const p = await planFor(devStackConfig(), { replace: ["platform-kubeconfig"], mode: "preview" });
    assert.deepEqual(p.names("replace"), ["platform-kubeconfig"]);
    assert.equal(
      p.op("platform-k8s"),
      "update",
      "its kubeconfig is unknown, its clusterIdentifier known and equal",
    );
    assert.equal(p.op("platform-jenkins-release"), "same");
  });

  test("rebuild: change baseImage: every VM is re-cloned and everything inside it is rebuilt through explicit cascades (clone id in triggers), every cluster re-initialised and its objects re-created", async () => {
    const config = changed((c) => (c["tartlab:baseImage"] = "ghcr.io/cirruslabs/ubuntu:25.04"));
    const rebuilt = Object.entries(CLUSTERS).flatMap(([cluster, [cp, ...workers]]) => [
      ...[cp, ...workers].flatMap(vmChain),
      `${cluster}-init`,
      `${cluster}-kubeconfig`,
      `${cluster}-upgrade`,
      `${cluster}-k8s`,
      ...workers.flatMap((w) => workerSteps(cluster, w)),
      ...k8sObjects(cluster),
    ]);
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(config, { mode });
      // In preview the new kubeconfig is unknown; the host-side file step shows as an update. The record on the Mac
      // is rewritten: it says what each VM was cloned from.
      const hostSide = Object.keys(CLUSTERS).map((c) => `${c}-host-kubeconfig`);
      const records = Object.keys(CLUSTERS).map((c) => `${c}-version-record`);
      assert.deepEqual(
        p.summary(),
        mode === "up"
          ? { update: sorted(records), replace: sorted(rebuilt) }
          : { update: sorted([...hostSide, ...records]), replace: sorted(rebuilt) },
        mode,
      );
      // The VM name is reused: the old VM is stopped (start's delete) and deleted before it is cloned again, and
      // every step inside it goes with it, first (no stopped blank VM left behind with the old state).
      for (const name of [
        "dev-worker1-start",
        "dev-worker1-address",
        "dev-worker1-prepare",
        "dev-dev-worker1-member",
      ]) {
        assert.match(
          p.step(name).cascadeOf ?? "",
          /^dev-(master|worker1)-clone$/,
          `${mode}: ${name} goes with a clone`,
        );
        assert.equal(p.step(name).deleteBeforeReplace, true, `${mode}: ${name} deleted first`);
      }
      assert.deepEqual(p.step("dev-worker1-prepare").replaceKeys, ["triggers"]);
    }
  });

  test("upgrade: one cluster 1.35 -> 1.36 runs only that cluster's upgrade steps, in order; nodes are not prepared again, init and joins not re-run", async () => {
    const config = changed((c) => (clustersOf(c)[0].kubernetesVersion = "1.36"));
    // In up, the control plane's upgrade prints the version it reached; the workers' steps read it.
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(config, {
        mode,
        stdout: { "platform-upgrade": "v1.36.1" },
      });
      assert.deepEqual(p.summary(), { update: sorted(upgradeChain("platform")) }, mode);
      // Registration order is the engine's order; dependsOn makes it a chain (asserted below on the graph).
      const order = p.steps.filter((s) => s.op !== "same").map((s) => s.name);
      assert.deepEqual(order, upgradeChain("platform"), `${mode}: in order`);
      assert.deepEqual(p.step("platform-upgrade").changed, ["stdin"]);
    }
    const chain = upgradeChain("platform");
    const regs = new Map([...deployed.resources.values()].map((r) => [r.reg.name, r.reg]));
    for (let i = 1; i < chain.length; i++) {
      assert.ok(
        regs.get(chain[i])!.dependencies.includes(chain[i - 1]),
        `${chain[i]} waits for ${chain[i - 1]}`,
      );
    }
    // The target reaches the control plane's script as a string (V02).
    const env = envIn(await deployAt(config), "platform-upgrade");
    assert.deepEqual([env.K8S_MINOR, env.K8S_PATCH], ["1.36", ""]);
  });

  test("upgrade: after the upgrade a re-run changes nothing, and a node added later installs the cluster's current version", async () => {
    const config = changed((c) => (clustersOf(c)[0].kubernetesVersion = "1.36"));
    const upgraded = await deployAt(config, recordsOf(deployed));
    assert.deepEqual(recordsOf(upgraded).platform!.kubernetesVersion, "1.36");
    assert.equal(recordsOf(upgraded).platform!.nodes["platform-worker1"], "1.35", "prepared with 1.35, kept");
    assert.deepEqual((await planFor(config, {}, upgraded)).summary(), {});

    const grown = changed((c) => {
      c["tartlab:clusters"][0].kubernetesVersion = "1.36";
      c["tartlab:clusters"][0].nodes.push({
        name: "platform-worker3",
        role: "worker",
        cpus: 2,
        memoryMb: 4096,
        diskGb: 30,
      });
    });
    const p = await planFor(grown, {}, upgraded);
    assert.deepEqual(p.names("update"), ["platform-nodes-ready", "platform-version-record"]);
    assert.ok(p.names("create").includes("platform-worker3-prepare"));
    const after = await deployAt(grown, recordsOf(upgraded));
    assert.equal(envIn(after, "platform-worker3-prepare").K8S_MINOR, "1.36");
    assert.equal(envIn(after, "platform-worker1-prepare").K8S_MINOR, "1.35");
    // It joins at its own kubeadm's version (the control plane's `ready` still says what init ran with).
    assert.equal(envIn(after, "platform-platform-worker3-join").KUBERNETES_VERSION, "v1.36.1");
    assert.equal(envIn(after, "platform-platform-worker1-join").KUBERNETES_VERSION, "v1.35.2");
  });

  test("refused versions: 1.35 -> 1.34, a skipped minor, or the lab-wide version of several clusters at once: refused before anything changes", async () => {
    const refused = [
      [
        (c: Config) => (clustersOf(c)[1].kubernetesVersion = "1.34"),
        /cluster "dev" kubernetesVersion "1\.34": cluster dev runs 1\.35 \(recorded in .*dev\.json\); kubeadm cannot downgrade a cluster\. Set cluster "dev" kubernetesVersion back to "1\.35"/,
      ],
      [
        (c: Config) => (clustersOf(c)[1].kubernetesVersion = "1.37"),
        /"1\.37": cluster dev runs 1\.35 .*one minor at a time\. Set cluster "dev" kubernetesVersion to "1\.36"/,
      ],
      [
        (c: Config) => (c["tartlab:kubernetesVersion"] = "1.34"),
        /tartlab:kubernetesVersion "1\.34": cluster platform runs 1\.35/,
      ],
      [
        (c: Config) => (c["tartlab:kubernetesVersion"] = "1.36"),
        /would upgrade clusters platform, dev, staging in one run; tartlab upgrades one cluster at a time/,
      ],
    ] as const;
    // The program refuses in prepareLab, before buildLab registers anything: up and preview alike.
    const records = recordsOf(deployed);
    for (const [mutate, message] of refused) {
      setStackConfig(changed(mutate));
      assert.throws(
        () => prepareLab({ hostFacts: () => MAC_FACTS, clusterRecords: () => records }),
        (e: Error) => {
          assert.match(e.message, /version preflight failed; nothing was changed/);
          assert.match(e.message, message);
          return true;
        },
      );
    }
    // The same configs with no record (a lab never built) are a first build at that version.
    setStackConfig(changed((c) => (clustersOf(c)[1].kubernetesVersion = "1.34")));
    assert.doesNotThrow(() => prepareLab({ hostFacts: () => MAC_FACTS, clusterRecords: () => ({}) }));
  });

  test("cluster list edits: inserting, removing or reordering clusters changes nothing in the other clusters (Cilium ids per name)", async () => {
    const qa = {
      name: "qa",
      podCidr: "10.40.0.0/16",
      serviceCidr: "10.99.0.0/16",
      nodes: [{ name: "qa-master", role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 25 }],
    };
    const inserted = await planFor(changed((c) => clustersOf(c).unshift(qa)));
    assert.deepEqual(inserted.summary(), {
      create: sorted([
        "qa-master-clone",
        "qa-master-start",
        "qa-master-address",
        ...nodeSteps("qa-master"),
        "qa-init",
        "qa-kubeconfig",
        "qa-host-kubeconfig",
        "qa-k8s",
        agentStep("qa", "qa-master"),
        "qa-nodes-ready",
        "qa-upgrade",
        "qa-version-record",
        ...k8sObjects("qa"),
      ]),
    });
    const removed = await planFor(changed((c) => clustersOf(c).splice(1, 1)));
    const others = removed.steps.filter((s) => /^(platform|staging)-/.test(s.name));
    assert.deepEqual(
      others.filter((s) => s.op !== "same").map((s) => s.name),
      [],
      "removing dev (listed before staging) leaves platform and staging alone",
    );
    const reordered = await planFor(changed((c) => clustersOf(c).reverse()));
    assert.deepEqual(reordered.summary(), {});
  });

  test("data guard: removing a worker that holds a local-path volume is refused before anything changes, unless tartlab:allowDataLoss; then only that worker's chain goes", async () => {
    const removeWorker2 = (c: Config) => clustersOf(c)[0].nodes.splice(2, 1);
    // Jenkins' home is never on a worker: the controller (so its WaitForFirstConsumer PV) is pinned to the control
    // plane; a volume of some other workload is what the guard finds there.
    const values = deployedRelease().inputs.values;
    assert.deepEqual(values.controller.nodeSelector, { "node-role.kubernetes.io/control-plane": "" });
    await withLiveLab(
      [
        { name: "pvc-jenkins", node: "platform-master", claim: { namespace: "jenkins", name: "jenkins" } },
        { name: "pvc-cache", node: "platform-worker2", claim: { namespace: "ci", name: "cache" } },
      ],
      async (guard) => {
        const refused = await guard(changed(removeWorker2));
        assert.match(
          refused.problems[0],
          /PersistentVolume pvc-cache \(claim ci\/cache, cluster platform\) lives on platform-worker2/,
        );
        assert.doesNotMatch(refused.problems.join("\n"), /pvc-jenkins/);
        const allowed = await guard(changed((c) => (removeWorker2(c), (c["tartlab:allowDataLoss"] = true))));
        assert.deepEqual(allowed.problems, []);
      },
    );
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(
        changed((c) => (removeWorker2(c), (c["tartlab:allowDataLoss"] = true))),
        { mode },
      );
      assert.deepEqual(
        p.summary(),
        {
          // The Mac's version record lists the cluster's nodes: it is rewritten without the worker.
          update: ["platform-nodes-ready", "platform-version-record"],
          delete: sorted([
            "platform-worker2-clone",
            "platform-worker2-start",
            "platform-worker2-address",
            ...nodeSteps("platform-worker2"),
            ...workerSteps("platform", "platform-worker2"),
            agentStep("platform", "platform-worker2"),
          ]),
        },
        mode,
      );
      assert.equal(p.op("platform-jenkins-release"), "same");
    }
    // The switch itself is read by the preflight only: setting it changes no resource.
    assert.deepEqual((await planFor(changed((c) => (c["tartlab:allowDataLoss"] = true)))).summary(), {});
  });

  test("remove a whole cluster: every resource of it is deleted (member removal, drain over SSH, included) and nothing else; stopped VMs are started first by the revive (test/revive.test.ts)", async () => {
    const p = await planFor(changed((c) => clustersOf(c).splice(1, 1)));
    assert.deepEqual(p.summary(), {
      delete: sorted([
        ...CLUSTERS.dev.flatMap(vmChain),
        ...workerSteps("dev", "dev-worker1"),
        ...CLUSTERS.dev.map((vm) => agentStep("dev", vm)),
        "dev-init",
        "dev-kubeconfig",
        "dev-host-kubeconfig",
        "dev-k8s",
        "dev-nodes-ready",
        "dev-upgrade",
        "dev-version-record",
        ...k8sObjects("dev"),
      ]),
    });
  });

  test("softnetAllow: change softnetAllow: every VM's start step is updated (a graceful restart in start.sh) and every cluster's Ready check runs again, nothing else, in up and in preview", async () => {
    const config = changed((c) => (c["tartlab:softnetAllow"] = "192.168.64.0/24"));
    const checks = Object.keys(CLUSTERS).map((c) => `${c}-nodes-ready`);
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(config, { mode });
      assert.deepEqual(p.summary(), { update: sorted([...VMS.map((vm) => `${vm}-start`), ...checks]) }, mode);
    }
  });
});

describe("config changes, laptop lab (one cluster shows the change)", () => {
  test("resize: resize any VM, control plane included: only its start step (graceful restart inside start.sh) and its cluster's Ready check are updated, in up and in preview", async () => {
    for (const key of SIZES) {
      const config = smallChanged((c) => (clustersOf(c)[0].nodes[0][key] *= 2));
      for (const mode of ["up", "preview"] as const) {
        const p = await smallPlanFor(config, { mode });
        assert.deepEqual(
          p.summary(),
          { update: ["small-master-start", "small-nodes-ready"] },
          `${key}, ${mode}`,
        );
        assert.deepEqual(p.step("small-master-start").changed, ["stdin"], "sizing is a plain input");
        // The IP comes from the address step, which a resize does not touch: it stays known.
        assert.equal(p.op("small-master-address"), "same");
        assert.equal(p.op("small-k8s"), "same");
      }
    }
  });

  test("rebuilt worker: a rebuilt worker (--replace of its clone) is prepared and joined again with a fresh join token, and its old Node removed first", async () => {
    for (const mode of ["up", "preview"] as const) {
      const p = await smallPlanFor(smallStackConfig(), { replace: ["small-worker1-clone"], mode });
      assert.deepEqual(
        p.summary(),
        { replace: sorted([...vmChain("small-worker1"), ...workerSteps("small", "small-worker1")]) },
        mode,
      );
      assert.deepEqual(p.step("small-small-worker1-join-token").replaceKeys, ["triggers"]);
      assert.equal(
        p.step("small-small-worker1-member").deleteBeforeReplace,
        true,
        "member-remove runs first",
      );
      assert.equal(p.op("small-k8s"), "same");
    }
  });
});

describe("disabling Jenkins, laptop lab", () => {
  const JENKINS = [
    "small-jenkins-admin-password",
    "small-jenkins-admin-secret",
    "small-jenkins-namespace",
    "small-jenkins-release",
  ];
  const disabled = (c: Config) => (c["tartlab:jenkins"] = { ...c["tartlab:jenkins"], enabled: false });
  const retained = (c: Config) => (c["tartlab:jenkins"] = { ...c["tartlab:jenkins"], retainData: true });

  test("deletes exactly the Jenkins resources, nothing else; its namespace (and PVC with it) is really deleted", async () => {
    for (const mode of ["up", "preview"] as const) {
      const p = await smallPlanFor(smallChanged(disabled), { mode });
      assert.deepEqual(p.summary(), { delete: JENKINS }, mode);
    }
    assert.equal(stored(smallDeployed, "small-jenkins-namespace").reg.options.retainOnDelete, false);
  });

  test("with jenkins.retainData: turning it on only updates the release (Helm keeps the PVC); disabling then drops the namespace from state without deleting it", async () => {
    const on = await smallPlanFor(smallChanged(retained), { mode: "up" });
    assert.deepEqual(on.summary(), { update: ["small-jenkins-release"] });
    assert.deepEqual(on.step("small-jenkins-release").changed, ["values"]);

    const keeping = await deployLab({ config: smallChanged(retained) });
    const p = await planLab(
      keeping,
      { config: smallChanged((c) => (retained(c), disabled(c))), drift: foundIn(keeping) },
      {
        mode: "up",
      },
    );
    assert.deepEqual(p.summary(), { delete: JENKINS });
    // retainOnDelete (recorded with the stored resource): the engine removes it from state, the object stays.
    assert.equal(stored(keeping, "small-jenkins-namespace").reg.options.retainOnDelete, true);
    // helm uninstall skips resources annotated keep: the chart's home PVC (templates/home-pvc.yaml) has none itself.
    assert.deepEqual(stored(keeping, "small-jenkins-release").reg.inputs.values.persistence.annotations, {
      "helm.sh/resource-policy": "keep",
    });
  });
});

describe("general rule: a single-VM change replaces nothing outside that VM's chain and no kubernetes provider", () => {
  // Every VM of the default lab, its sizes changed together (each alone changes a distinct input of the same step).
  for (const [cluster, vms] of Object.entries(CLUSTERS)) {
    vms.forEach((vm, i) => {
      test(`resize ${vm}`, async () => {
        const config = changed((c) => {
          const node = clustersOf(c).find((x) => x.name === cluster).nodes[i];
          for (const key of SIZES) node[key] *= 2;
        });
        for (const mode of ["up", "preview"] as const) {
          const p = await planFor(config, { mode });
          assert.equal(p.op(`${vm}-start`), "update", `${mode}: the resize is applied`);
          assert.deepEqual(singleVmViolations(p, vm, cluster), [], mode);
          assert.deepEqual(
            p.summary(),
            { update: sorted([`${vm}-start`, `${cluster}-nodes-ready`]) },
            `${mode}: nothing else changes but the Ready check`,
          );
          assert.deepEqual(p.step(`${vm}-start`).changed, ["stdin"], mode);
        }
      });
    });
  }

  // Each size alone, on the laptop lab's control plane and worker.
  SMALL.forEach((vm, i) => {
    test(`resize ${vm}`, async () => {
      for (const key of SIZES) {
        const config = smallChanged((c) => (clustersOf(c)[0].nodes[i][key] *= 2));
        for (const mode of ["up", "preview"] as const) {
          const p = await smallPlanFor(config, { mode });
          assert.equal(p.op(`${vm}-start`), "update", `${key}, ${mode}: the resize is applied`);
          assert.deepEqual(singleVmViolations(p, vm, "small"), [], `${key}, ${mode}`);
          assert.deepEqual(
            p.summary(),
            { update: sorted([`${vm}-start`, "small-nodes-ready"]) },
            `${key}, ${mode}: nothing else changes but the Ready check`,
          );
        }
      }
    });
  });

  test("softnetAllow (lab-wide, read only by each VM's start step): no replace anywhere", async () => {
    const config = changed((c) => (c["tartlab:softnetAllow"] = "192.168.64.0/24"));
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(config, { mode });
      for (const [cluster, vms] of Object.entries(CLUSTERS)) {
        for (const vm of vms) assert.deepEqual(singleVmViolations(p, vm, cluster), [], `${vm}, ${mode}`);
      }
      assert.deepEqual(p.names("replace"), [], mode);
    }
  });
});

describe("the lab follows a changed address (drift check before the graph; docs/plans.md)", () => {
  /** Every VM at the address its address step read when it was made (test/harness/pulumi.ts fakeIp). */
  const unchanged = Object.fromEntries(VMS.map((vm) => [vm, fakeIp(vm)]));
  const report = (drift: Partial<DriftReport>): DriftReport => ({
    addresses: unchanged,
    repairs: {},
    messages: [],
    ...drift,
  });
  /** The lab after an `up` whose drift check found every VM where it was made. */
  let checked: State;
  before(async () => {
    checked = await deployLab({ config: devStackConfig(), records: recordsOf(deployed), drift: report({}) });
  });
  /** What the drift check reports: these addresses and repair counts (lib/drift-report.ts). */
  const planDrift = (drift: Partial<DriftReport>, opts?: LabPlanOptions, state = checked) =>
    planLab(state, { config: devStackConfig(), records: recordsOf(state), drift: report(drift) }, opts);

  test("the up after a first build (no VM existed, so none was found), with every VM found where it was made: no change", async () => {
    for (const mode of ["up", "preview"] as const) {
      const p = await planLab(
        deployed,
        { config: devStackConfig(), records: recordsOf(deployed), drift: report({}) },
        { mode },
      );
      assert.deepEqual(p.summary(), {}, mode);
    }
  });

  test("a control plane at a new address: its steps, its workers' cluster steps, the kubeconfig, the provider and Cilium are updated; nothing is replaced", async () => {
    const [cp, ...workers] = CLUSTERS.platform;
    for (const mode of ["up", "preview"] as const) {
      const p = await planDrift({ addresses: { ...unchanged, [cp]: "192.168.64.250" } }, { mode });
      // In preview the control plane's upgrade step is updated, so the version it prints is unknown and each
      // worker's upgrade step (on the worker, unchanged connection) shows as an update too; in up it prints the
      // same version and they stay.
      const perWorker = mode === "up" ? WORKER_STEPS.filter((s) => s !== "upgrade") : WORKER_STEPS;
      assert.deepEqual(
        p.summary(),
        {
          update: sorted([
            `${cp}-address`,
            ...nodeSteps(cp),
            "platform-init",
            "platform-kubeconfig",
            "platform-host-kubeconfig",
            "platform-k8s",
            "platform-upgrade",
            "platform-cilium",
            "platform-nodes-ready",
            ...workers.flatMap((w) => workerSteps("platform", w, perWorker)),
            // They run on the control plane, at its new address; the Helm upgrade rolls every agent anyway.
            ...CLUSTERS.platform.map((vm) => agentStep("platform", vm)),
          ]),
        },
        mode,
      );
      assert.deepEqual(
        p.names("replace"),
        [],
        `${mode}: no kubernetes provider and no Helm release replaced`,
      );
      assert.deepEqual(p.step("platform-k8s").changed, ["kubeconfig"], `${mode}: same clusterIdentifier`);
      assert.deepEqual(p.step("platform-cilium").changed, ["values"], `${mode}: a Helm upgrade`);
      assert.equal(p.op("platform-jenkins-release"), "same", mode);
      assert.deepEqual(p.step(`${cp}-address`).changed, ["stdin"], `${mode}: runs again to read the address`);
      assert.deepEqual(p.step(`${cp}-identity`).changed, ["connection"], mode);
      assert.deepEqual(singleVmViolations(p, cp, "platform"), [], mode);
    }
  });

  test("a worker at a new address: only its own node steps, its join, netcheck and upgrade steps and its Cilium agent restart are updated", async () => {
    for (const mode of ["up", "preview"] as const) {
      const p = await planDrift({ addresses: { ...unchanged, "dev-worker1": "192.168.64.251" } }, { mode });
      assert.deepEqual(
        p.summary(),
        {
          update: sorted([
            "dev-worker1-address",
            ...nodeSteps("dev-worker1"),
            ...workerSteps("dev", "dev-worker1", ["join", "netcheck", "upgrade"]),
            agentStep("dev", "dev-worker1"),
          ]),
        },
        mode,
      );
      // Cilium follows the address only after an agent restart (agent-restart.sh), run with the new address.
      assert.deepEqual(p.step(agentStep("dev", "dev-worker1")).changed, ["stdin"], mode);
      // join.sh re-points the joined worker (kubelet node-ip) with its new address in JOIN_CONFIG.
      assert.deepEqual(p.step("dev-dev-worker1-join").changed, ["connection", "stdin"], mode);
      assert.deepEqual(singleVmViolations(p, "dev-worker1", "dev"), [], mode);
    }
  });

  test("every VM reported at the address it had: no change at all", async () => {
    for (const mode of ["up", "preview"] as const) {
      assert.deepEqual((await planDrift({ addresses: unchanged }, { mode })).summary(), {}, mode);
    }
  });

  test("a repair count: only that cluster's Ready check is updated (it runs again); a count of 0 changes nothing", async () => {
    for (const mode of ["up", "preview"] as const) {
      const p = await planDrift({ repairs: { dev: 1, staging: 0 } }, { mode });
      assert.deepEqual(p.summary(), { update: ["dev-nodes-ready"] }, mode);
      assert.deepEqual(p.step("dev-nodes-ready").changed, ["stdin"], mode);
    }
  });

  test("a repair count again: the same count changes nothing, a higher one runs the check again", async () => {
    const repaired = await deployLab({
      config: devStackConfig(),
      records: recordsOf(checked),
      drift: report({ repairs: { dev: 1 } }),
    });
    assert.deepEqual((await planDrift({ repairs: { dev: 1 } }, {}, repaired)).summary(), {});
    assert.deepEqual((await planDrift({ repairs: { dev: 2 } }, {}, repaired)).summary(), {
      update: ["dev-nodes-ready"],
    });
  });
});
