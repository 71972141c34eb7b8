/**
 * What each config change of issue 10's table does to the default lab (Pulumi.dev.yaml), as the preview
 * simulator (test/harness/preview.ts, rules in docs/plans.md) computes it. Rows marked "fixed"/"decided" assert
 * the plan after the fix; the others still document today's behaviour until their fix lands. "up" is what `pulumi up` does when every step
 * succeeds (same IPs as before); "preview" is what `pulumi preview` shows (outputs of changed steps unknown).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { devStackConfig } from "./harness/pulumi";
import { Plan, PlanOptions, State, deploy, labProgram, plan, singleVmViolations } from "./harness/preview";

type Config = Record<string, any>;

const CLUSTERS: Record<string, string[]> = {
  platform: ["platform-master", "platform-worker1", "platform-worker2"],
  dev: ["dev-master", "dev-worker1"],
  staging: ["staging-master", "staging-worker1"],
};
const VMS = Object.values(CLUSTERS).flat();

/** A VM's own TartVm steps. */
const vmSteps = (vm: string) => [`${vm}-clone`, `${vm}-start`, `${vm}-address`];
/** Every step of one node's preparation (K8sNode). */
const nodeSteps = (vm: string) => [`${vm}-identity`, `${vm}-prepare`, `${vm}-ready`];
/** A VM's own chain: its TartVm and K8sNode steps. */
const vmChain = (vm: string) => [...vmSteps(vm), ...nodeSteps(vm)];
/** The per-worker steps of KubeadmCluster. */
const workerSteps = (cluster: string, w: string, steps = ["join", "join-token", "member", "netcheck"]) =>
  steps.map((s) => `${cluster}-${w}-${s}`);
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

function changed(mutate: (c: Config) => void): Config {
  const c = structuredClone(devStackConfig()) as Config;
  mutate(c);
  return c;
}
const clustersOf = (c: Config) => c["tartlab:clusters"] as any[];

let deployed: State;
const planFor = (config: Config, opts?: PlanOptions): Promise<Plan> =>
  plan(deployed, labProgram(config), opts);

before(async () => {
  deployed = await deploy(labProgram(devStackConfig()));
});

describe("issue 10 table, default lab", () => {
  test("row 1 (fixed): resize any VM, control plane included: only its start step is updated (graceful restart inside start.sh), in up and in preview", async () => {
    for (const key of ["cpus", "memoryMb", "diskGb"]) {
      const config = changed((c) => (clustersOf(c)[0].nodes[0][key] *= 2));
      for (const mode of ["up", "preview"] as const) {
        const p = await planFor(config, { mode });
        assert.deepEqual(p.summary(), { update: ["platform-master-start"] }, `${key}, ${mode}`);
        assert.deepEqual(p.step("platform-master-start").changed, ["stdin"], "sizing is a plain input");
        // The IP comes from the address step, which a resize does not touch: it stays known.
        assert.equal(p.op("platform-master-address"), "same");
        assert.equal(p.op("platform-k8s"), "same");
      }
    }
  });

  test("row 1 (the provider's identity): a re-read control-plane kubeconfig (unknown in preview) replaces no provider, because the identity is the control plane's clone id", async () => {
    const p = await planFor(devStackConfig(), { replace: ["platform-kubeconfig"], mode: "preview" });
    assert.deepEqual(p.names("replace"), ["platform-kubeconfig"]);
    assert.equal(
      p.op("platform-k8s"),
      "update",
      "its kubeconfig is unknown, its clusterIdentifier known and equal",
    );
    assert.equal(p.op("platform-jenkins-release"), "same");
  });

  test("row 2 (decided: rebuild): change baseImage: every VM is re-cloned and everything inside it is rebuilt through explicit cascades (clone id in triggers), every cluster re-initialised and its objects re-created", async () => {
    const config = changed((c) => (c["tartlab:baseImage"] = "ghcr.io/cirruslabs/ubuntu:25.04"));
    const rebuilt = Object.entries(CLUSTERS).flatMap(([cluster, [cp, ...workers]]) => [
      ...[cp, ...workers].flatMap(vmChain),
      `${cluster}-init`,
      `${cluster}-kubeconfig`,
      `${cluster}-k8s`,
      ...workers.flatMap((w) => workerSteps(cluster, w)),
      ...k8sObjects(cluster),
    ]);
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(config, { mode });
      const hostSide = Object.keys(CLUSTERS).flatMap((c) => [`${c}-host-kubeconfig`, `${c}-nodes-ready`]);
      assert.deepEqual(
        p.summary(),
        mode === "up" ? { replace: sorted(rebuilt) } : { update: sorted(hostSide), replace: sorted(rebuilt) },
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

  for (const [row, version] of [
    ["row 3: kubernetesVersion 1.35 -> 1.36", "1.36"],
    ["row 4: kubernetesVersion 1.35 -> 1.34", "1.34"],
  ] as const) {
    test(`${row}: node preparation re-runs on every node of every cluster at once; no upgrade or drain step, kubeadm init unchanged in up`, async () => {
      const config = changed((c) => (c["tartlab:kubernetesVersion"] = version));
      for (const mode of ["up", "preview"] as const) {
        const p = await planFor(config, { mode });
        // The control plane's ready stdout (its kubeadm version) feeds init and every join: unknown in preview.
        const readers = Object.entries(CLUSTERS).flatMap(([cluster, [, ...workers]]) => [
          `${cluster}-init`,
          ...workers.map((w) => `${cluster}-${w}-join`),
        ]);
        const expected = mode === "up" ? VMS.flatMap(nodeSteps) : [...VMS.flatMap(nodeSteps), ...readers];
        assert.deepEqual(p.summary(), { update: sorted(expected) }, mode);
        assert.deepEqual(p.step("dev-master-prepare").changed, ["stdin"]);
        assert.equal(p.op("dev-init"), mode === "up" ? "same" : "update");
      }
    });
  }

  test("row 5 (fixed): inserting, removing or reordering clusters changes nothing in the other clusters (Cilium ids per name)", async () => {
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
        "qa-nodes-ready",
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

  test("row 6: remove the worker that may hold Jenkins' local-path volume: its whole chain is deleted, only the Ready gate changes; nothing guards the data", async () => {
    const p = await planFor(changed((c) => clustersOf(c)[0].nodes.splice(2, 1)));
    assert.deepEqual(p.summary(), {
      update: ["platform-nodes-ready"],
      delete: sorted([
        "platform-worker2-clone",
        "platform-worker2-start",
        "platform-worker2-address",
        ...nodeSteps("platform-worker2"),
        ...workerSteps("platform", "platform-worker2"),
      ]),
    });
    assert.equal(p.op("platform-jenkins-release"), "same");
  });

  test("row 7: remove a whole cluster: every resource of it is deleted (member removal, drain over SSH, included) and nothing else; stopped VMs are started first by the revive (test/revive.test.ts)", async () => {
    const p = await planFor(changed((c) => clustersOf(c).splice(1, 1)));
    assert.deepEqual(p.summary(), {
      delete: sorted([
        ...CLUSTERS.dev.flatMap(vmChain),
        ...workerSteps("dev", "dev-worker1"),
        "dev-init",
        "dev-kubeconfig",
        "dev-host-kubeconfig",
        "dev-k8s",
        "dev-nodes-ready",
        ...k8sObjects("dev"),
      ]),
    });
  });

  test("row 8 (fixed): a rebuilt worker (--replace of its clone) is prepared and joined again with a fresh join token, and its old Node removed first", async () => {
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(devStackConfig(), { replace: ["dev-worker1-clone"], mode });
      assert.deepEqual(
        p.summary(),
        { replace: sorted([...vmChain("dev-worker1"), ...workerSteps("dev", "dev-worker1")]) },
        mode,
      );
      assert.deepEqual(p.step("dev-dev-worker1-join-token").replaceKeys, ["triggers"]);
      assert.equal(p.step("dev-dev-worker1-member").deleteBeforeReplace, true, "member-remove runs first");
      assert.equal(p.op("dev-k8s"), "same");
    }
  });

  test("row 9 (fixed): change softnetAllow: every VM's start step is updated (a graceful restart in start.sh) and nothing else, in up and in preview", async () => {
    const config = changed((c) => (c["tartlab:softnetAllow"] = "192.168.64.0/24"));
    for (const mode of ["up", "preview"] as const) {
      const p = await planFor(config, { mode });
      assert.deepEqual(p.summary(), { update: sorted(VMS.map((vm) => `${vm}-start`)) }, mode);
    }
  });
});

describe("general rule: a single-VM change replaces nothing outside that VM's chain and no kubernetes provider", () => {
  for (const [cluster, vms] of Object.entries(CLUSTERS)) {
    vms.forEach((vm, i) => {
      test(`resize ${vm}`, async () => {
        for (const key of ["cpus", "memoryMb", "diskGb"]) {
          const config = changed((c) => (clustersOf(c).find((x) => x.name === cluster).nodes[i][key] *= 2));
          for (const mode of ["up", "preview"] as const) {
            const p = await planFor(config, { mode });
            assert.equal(p.op(`${vm}-start`), "update", `${key}, ${mode}: the resize is applied`);
            assert.deepEqual(singleVmViolations(p, vm, cluster), [], `${key}, ${mode}`);
            assert.deepEqual(
              p.summary(),
              { update: [`${vm}-start`] },
              `${key}, ${mode}: nothing else changes`,
            );
          }
        }
      });
    });
  }

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
