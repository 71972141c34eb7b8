import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { NO_DRIFT } from "../lib/drift-report";
import { program } from "../program";
import {
  LabRun,
  Recorder,
  bundleEnv,
  dependsOn,
  devStackConfig,
  fakeIp,
  isSecretValue,
  MAC_FACTS,
  record,
  runLab,
  setStackConfig,
  sharedLab,
  smallStackConfig,
  startRecording,
  unwrap,
  waitsFor,
} from "./harness/pulumi";
import { DEV_LAB_VMS } from "./harness/stacks";

const CLUSTERS = ["platform", "dev", "staging"];

describe("the default lab (Pulumi.dev.yaml) under mocks", () => {
  let lab: LabRun;
  let rec: Recorder;
  before(async () => {
    lab = await sharedLab();
    rec = lab.recorder;
  });

  test("7 TartVm and 7 K8sNode components, 3 KubeadmCluster and 3 CiliumInstall", () => {
    const names = (t: string) => rec.ofType(t).map((r) => r.name);
    assert.deepEqual(names("tartlab:index:TartVm"), DEV_LAB_VMS);
    assert.deepEqual(names("tartlab:index:K8sNode"), DEV_LAB_VMS);
    assert.deepEqual(names("tartlab:index:KubeadmCluster"), CLUSTERS);
    assert.deepEqual(names("tartlab:index:CiliumInstall"), CLUSTERS);
  });

  test("every child's name starts with its parent's name and components hang off the stack", () => {
    for (const r of rec.registrations) {
      if (r.type === "pulumi:pulumi:Stack") continue;
      if (r.type.startsWith("tartlab:index:")) {
        assert.equal(r.parent, "tartlab-dev", r.name);
      } else {
        assert.ok(r.name.startsWith(`${r.parent}-`), `${r.name} under ${r.parent}`);
      }
    }
  });

  test("K8sNode: every remote command connects to its own VM's IP and depends on that VM", () => {
    for (const vm of DEV_LAB_VMS) {
      for (const step of ["identity", "prepare", "ready"]) {
        const r = rec.byName(`${vm}-${step}`);
        assert.equal(r.type, "command:remote:Command");
        assert.equal(r.parent, vm);
        assert.ok(isSecretValue(r.inputs.connection), "connection (with credentials) is a secret");
        assert.equal(unwrap(r.inputs.connection).host, fakeIp(vm));
        assert.deepEqual(
          r.propertyDependencies.connection,
          [`${vm}-address`],
          `${vm}-${step} waits for the IP`,
        );
        // A re-cloned VM is prepared again even at the same IP (a dependsOn would not cascade).
        assert.deepEqual(r.inputs.triggers, [`${vm}-clone-id`]);
        assert.deepEqual(r.propertyDependencies.triggers, [`${vm}-clone`]);
        assert.equal(r.inputs.create, "sudo -n bash -s -- create");
      }
    }
  });

  test("K8sNode: SSH defaults to the image's admin/admin with retries and timeouts", () => {
    const c = unwrap(rec.byName("dev-master-identity").inputs.connection);
    assert.deepEqual(c, {
      host: fakeIp("dev-master"),
      port: 22,
      user: "admin",
      password: "admin",
      dialErrorLimit: 40,
      perDialTimeout: 15,
    });
  });
});

describe("config variations", () => {
  // One cluster shows these: the laptop lab (Pulumi.small.yaml).
  test("a configured private key replaces the password; both stay secret", async () => {
    const config = { ...smallStackConfig(), "tartlab:sshPrivateKey": "-----BEGIN KEY-----\nx\n" };
    const { recorder } = await runLab(config, { secretKeys: ["tartlab:sshPrivateKey"] });
    const c = recorder.byName("small-master-identity").inputs.connection;
    assert.ok(isSecretValue(c));
    assert.equal(unwrap(c).privateKey, "-----BEGIN KEY-----\nx\n");
    assert.equal(unwrap(c).password, undefined);
  });

  test("an exact patch version reaches node prep unchanged (V02)", async () => {
    const config = { ...smallStackConfig(), "tartlab:kubernetesVersion": "1.33.0" };
    const { recorder } = await runLab(config);
    for (const vm of ["small-master", "small-worker1"]) {
      assert.deepEqual(bundleEnv(recorder.byName(`${vm}-prepare`).inputs.stdin), {
        K8S_MINOR: "1.33",
        K8S_PATCH: "1.33.0",
        NODE_NAME: vm,
      });
    }
    assert.equal(bundleEnv(recorder.byName("small-upgrade").inputs.stdin).K8S_PATCH, "1.33.0");
  });

  test("host preflight failure stops the program before anything is registered", async () => {
    const facts = { ...(await import("./harness/pulumi")).MAC_FACTS, arch: "x86_64" };
    await assert.rejects(runLab(devStackConfig(), { hostFacts: facts }), /not arm64: the lab/);
  });
});

describe("T09 wiring", () => {
  for (const preview of [false, true]) {
    test(`the drift check (which revives dead VMs) gets this stack's owner id and ${preview ? "preview" : "up"} mode, before any resource`, async () => {
      const recorder = startRecording({ preview });
      setStackConfig(smallStackConfig());
      const calls: [string, boolean, string[]][] = [];
      let registeredBefore = -1;
      await record(recorder, () =>
        program({
          hostFacts: () => MAC_FACTS,
          drift: (config, owner, dryRun) => {
            calls.push([owner, dryRun, config.clusters.map((c) => c.name)]);
            registeredBefore = recorder.registrations.length;
            return Promise.resolve(NO_DRIFT);
          },
        }),
      );
      assert.deepEqual(calls, [["tartlab/dev", preview, ["small"]]]);
      assert.equal(registeredBefore, 0);
      assert.ok(recorder.registrations.length > 0);
    });
  }
});

describe("reproducibility", () => {
  test("two evaluations of the same config give identical inputs for every resource", async () => {
    const snapshot = (r: Recorder) =>
      JSON.stringify(
        r.registrations.map((x) => [x.type, x.name, x.parent, x.dependencies, x.options, x.inputs]),
      );
    const a = snapshot((await sharedLab()).recorder);
    const b = snapshot((await runLab()).recorder);
    assert.equal(a, b);
  });

  test("a first preview (every computed output unknown) shows the complete graph", async () => {
    const full = (await sharedLab()).recorder.registrations.map((r) => `${r.type} ${r.name}`);
    const preview = (await runLab(devStackConfig(), { preview: true })).recorder.registrations.map(
      (r) => `${r.type} ${r.name}`,
    );
    assert.deepEqual(preview.sort(), full.sort());
    // stack + per VM (2 components, 3 local, 3 remote, its Cilium agent restart) + per cluster (3 components,
    // init, kubeconfig, host kubeconfig file, provider, Cilium, Ready gate, 9 local-path objects, control-plane
    // upgrade, version record) + per worker 7 (netcheck, join-token, join, member, drain, upgrade, uncordon) +
    // Jenkins (5).
    assert.equal(full.length, 1 + 7 * 9 + 3 * 20 + 4 * 7 + 5);
  });
});

describe("ordering edges", () => {
  let rec: Recorder;
  before(async () => {
    rec = (await sharedLab()).recorder;
  });
  const edge = (from: string, to: string) =>
    assert.ok(dependsOn(rec, from, to), `${from} must wait for ${to}`);

  test("VM -> node prep -> init", () => {
    edge("platform-master-identity", "platform-master-address");
    edge("platform-master-address", "platform-master-start");
    edge("platform-master-prepare", "platform-master-identity");
    edge("platform-master-ready", "platform-master-prepare");
    edge("platform-init", "platform-master-ready");
  });

  test("init -> network check -> join, per worker; the worker's own prep comes first too", () => {
    for (const [c, w] of [
      ["platform", "platform-worker1"],
      ["platform", "platform-worker2"],
      ["dev", "dev-worker1"],
      ["staging", "staging-worker1"],
    ]) {
      edge(`${c}-${w}-netcheck`, `${c}-init`);
      edge(`${c}-${w}-netcheck`, `${w}-ready`);
      edge(`${c}-${w}-join`, `${c}-${w}-netcheck`);
      edge(`${c}-${w}-join`, `${c}-${w}-join-token`);
      edge(`${c}-${w}-member`, `${c}-${w}-join`);
    }
  });

  test("init -> Cilium (through the cluster's provider and kubeconfig)", () => {
    for (const c of CLUSTERS) {
      edge(`${c}-cilium`, `${c}-init`);
      edge(`${c}-k8s`, `${c}-kubeconfig`);
      edge(`${c}-kubeconfig`, `${c}-init`);
    }
  });

  test("Cilium and every join -> nodes-Ready gate", () => {
    edge("platform-nodes-ready", "platform-cilium");
    edge("platform-nodes-ready", "platform-platform-worker1-join");
    edge("platform-nodes-ready", "platform-platform-worker2-join");
    edge("dev-nodes-ready", "dev-dev-worker1-join");
    edge("staging-nodes-ready", "staging-staging-worker1-join");
  });

  test("the three clusters build in parallel: no edge from one cluster to another's resources", () => {
    const clusterOf = (name: string) => CLUSTERS.find((c) => name === c || name.startsWith(`${c}-`));
    for (const r of rec.registrations) {
      const mine = clusterOf(r.name);
      if (!mine) continue;
      for (const other of waitsFor(rec, r.name)) {
        const theirs = clusterOf(other);
        assert.ok(!theirs || theirs === mine, `${r.name} -> ${other}`);
      }
    }
  });
});
