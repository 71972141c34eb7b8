/**
 * mac/data-guard.ts against the fake Kubernetes API (real HTTPS, client certificates, local-path PVs with node
 * affinity) and owner markers in a temporary ~/.tartlab, and its wiring in program.ts: a refusal stops `up` and
 * `preview` before anything is registered or revived.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { checkDataLoss, departingVms } from "../mac/data-guard";
import { LabConfig, validateLabConfig } from "../lib/lab-config";
import { program } from "../program";
import { NO_DRIFT } from "../lib/drift-report";
import { FakeK8sApi, healthyCluster, startFakeK8sApi } from "./harness/fake-k8s-api";
import {
  MAC_FACTS,
  devRawConfig,
  devStackConfig,
  record,
  setStackConfig,
  smallStackConfig,
  startRecording,
} from "./harness/pulumi";
import { DEV_LAB_VMS } from "./harness/stacks";

const OWNER = "tartlab/dev";

let home: string;
let platform: FakeK8sApi;
let dev: FakeK8sApi;

const env = (): NodeJS.ProcessEnv => ({ TARTLAB_HOME: home, HOME: "/nonexistent" });

function marker(vm: string, owner = OWNER) {
  mkdirSync(path.join(home, "vms"), { recursive: true });
  writeFileSync(path.join(home, "vms", `${vm}.owner`), `${owner}\n`);
}
function kubeconfig(cluster: string, api: FakeK8sApi) {
  mkdirSync(path.join(home, "kube"), { recursive: true });
  writeFileSync(path.join(home, "kube", `${cluster}.yaml`), api.kubeconfig(cluster), { mode: 0o600 });
}

/** The default lab (Pulumi.dev.yaml), changed. */
function lab(mutate: (raw: Record<string, any>) => void = () => {}): LabConfig {
  const raw = devRawConfig();
  mutate(raw);
  return validateLabConfig(raw).config;
}
const withoutWorker2 = (extra: Record<string, unknown> = {}) =>
  lab((raw) => {
    raw.clusters[0].nodes.splice(2, 1);
    Object.assign(raw, extra);
  });

const jenkinsHome = (node: string, annotations?: Record<string, string>) => ({
  name: "pvc-0d5e",
  node,
  claim: { namespace: "jenkins", name: "jenkins" },
  claimAnnotations: annotations,
});

before(async () => {
  platform = await startFakeK8sApi(
    healthyCluster(["platform-master", "platform-worker1", "platform-worker2"]),
  );
  dev = await startFakeK8sApi(healthyCluster(["dev-master", "dev-worker1"]));
});
after(async () => {
  await platform.close();
  await dev.close();
});
beforeEach(() => {
  home = mkdtempSync(path.join(tmpdir(), "tartlab-data-"));
  for (const vm of DEV_LAB_VMS) marker(vm);
  kubeconfig("platform", platform);
  kubeconfig("dev", dev);
  platform.state.volumes = [];
  platform.state.hang = false;
  dev.state.volumes = [];
  dev.state.hang = false;
  platform.requests.length = 0;
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe("which VMs a change removes", () => {
  test("this stack's VMs (owner marker) that the config no longer lists; another stack's VMs never", () => {
    marker("other-worker", "tartlab/prod");
    assert.deepEqual(departingVms(withoutWorker2(), OWNER, env()), ["platform-worker2"]);
    assert.deepEqual(departingVms(lab(), OWNER, env()), []);
    const noDev = lab((raw) => raw.clusters.splice(1, 1));
    assert.deepEqual(departingVms(noDev, OWNER, env()), ["dev-master", "dev-worker1"]);
  });

  test("an unchanged lab reads no API at all (preview stays offline)", async () => {
    platform.state.volumes = [jenkinsHome("platform-worker2")];
    const r = await checkDataLoss(lab(), OWNER, { env: env() });
    assert.deepEqual(r, { departing: [], problems: [], warnings: [] });
    assert.deepEqual(platform.requests, []);
  });
});

describe("removing a node that holds local-path volumes", () => {
  test("refused, naming the PV, its claim, the node and the switch", async () => {
    platform.state.volumes = [
      jenkinsHome("platform-worker2"),
      { name: "pvc-safe", node: "platform-worker1", claim: { namespace: "ci", name: "cache" } },
    ];
    const r = await checkDataLoss(withoutWorker2(), OWNER, { env: env() });
    assert.deepEqual(r.departing, ["platform-worker2"]);
    assert.equal(r.problems.length, 2);
    assert.match(
      r.problems[0],
      /^PersistentVolume pvc-0d5e \(claim jenkins\/jenkins, cluster platform\) lives on platform-worker2, which this change removes/,
    );
    assert.match(r.problems[1], /pulumi config set tartlab:allowDataLoss true/);
    assert.doesNotMatch(r.problems.join("\n"), /pvc-safe/, "a volume on a node that stays is no reason");
    assert.ok(platform.requests.includes("/api/v1/persistentvolumes"));
  });

  test("allowed with tartlab:allowDataLoss true: a warning that still names the volume", async () => {
    platform.state.volumes = [jenkinsHome("platform-worker2")];
    const r = await checkDataLoss(withoutWorker2({ allowDataLoss: "true" }), OWNER, { env: env() });
    assert.deepEqual(r.problems, []);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /pvc-0d5e .* platform-worker2.*\(tartlab:allowDataLoss is true\)/);
  });

  test("no volume on the removed node: the change goes on silently", async () => {
    platform.state.volumes = [jenkinsHome("platform-master")];
    const r = await checkDataLoss(withoutWorker2(), OWNER, { env: env() });
    assert.deepEqual({ problems: r.problems, warnings: r.warnings }, { problems: [], warnings: [] });
  });

  test("a whole cluster removed: its volumes are found through its kubeconfig, still on the Mac", async () => {
    dev.state.volumes = [{ name: "pvc-db", node: "dev-worker1", claim: { namespace: "app", name: "db" } }];
    const r = await checkDataLoss(
      lab((raw) => raw.clusters.splice(1, 1)),
      OWNER,
      { env: env() },
    );
    assert.match(r.problems[0], /pvc-db \(claim app\/db, cluster dev\) lives on dev-worker1/);
  });

  test("an API that does not answer cannot prove the data safe: refused with the reason, or a warning when allowed", async () => {
    platform.state.hang = true;
    const refused = await checkDataLoss(withoutWorker2(), OWNER, { env: env(), timeoutMs: 300 });
    assert.match(
      refused.problems[0],
      /cannot tell whether local volumes live on platform-worker2, which this change removes: cluster platform: API server https:\/\/127\.0\.0\.1:\d+ does not answer: no answer in 300 ms/,
    );
    assert.match(refused.problems.at(-1)!, /tartlab:allowDataLoss true/);
    const allowed = await checkDataLoss(withoutWorker2({ allowDataLoss: true }), OWNER, {
      env: env(),
      timeoutMs: 300,
    });
    assert.deepEqual(allowed.problems, []);
    assert.match(allowed.warnings[0], /cannot tell whether local volumes live on platform-worker2/);
    assert.doesNotMatch(JSON.stringify(refused), /PRIVATE KEY/, "no credentials in messages");
  });

  test("tartlab:allowDataLoss is validated: only true or false", () => {
    assert.throws(
      () => withoutWorker2({ allowDataLoss: "yes" }),
      /tartlab:allowDataLoss must be true or false, got "yes"/,
    );
    assert.equal(withoutWorker2({ allowDataLoss: "false" }).allowDataLoss, false);
    assert.equal(lab().allowDataLoss, false);
  });
});

describe("disabling Jenkins", () => {
  const disabled = (retainData?: boolean) =>
    lab((raw) => (raw.jenkins = { enabled: false, ...(retainData === undefined ? {} : { retainData }) }));

  test("deployed Jenkins: preview warns that its PVC and namespace are deleted, and how to keep them", async () => {
    platform.state.volumes = [jenkinsHome("platform-master")];
    const r = await checkDataLoss(disabled(), OWNER, { env: env() });
    assert.deepEqual(r.problems, [], "a warning, not a refusal");
    assert.equal(r.warnings.length, 1);
    assert.match(
      r.warnings[0],
      /DELETES Jenkins' home \(PVC jenkins\/jenkins on cluster platform\) and the jenkins namespace.*tartlab:jenkins\.retainData true while Jenkins is still enabled/,
    );
  });

  test("retainData set but never applied (the PVC lacks Helm's keep policy): still deleted, and said so", async () => {
    platform.state.volumes = [jenkinsHome("platform-master")];
    const r = await checkDataLoss(disabled(true), OWNER, { env: env() });
    assert.match(
      r.warnings[0],
      /DELETES .*retainData is set, but the PVC does not carry helm\.sh\/resource-policy/,
    );
  });

  test("deployed with retainData (PVC kept by Helm): the warning says the data is kept", async () => {
    platform.state.volumes = [jenkinsHome("platform-master", { "helm.sh/resource-policy": "keep" })];
    const r = await checkDataLoss(disabled(true), OWNER, { env: env() });
    assert.match(r.warnings[0], /Jenkins is uninstalled but Jenkins' home .* is kept/);
  });

  test("never deployed: nothing to say; unreachable API: says it could not check", async () => {
    assert.deepEqual((await checkDataLoss(disabled(), OWNER, { env: env() })).warnings, []);
    platform.state.hang = true;
    const r = await checkDataLoss(disabled(), OWNER, { env: env(), timeoutMs: 300 });
    assert.match(r.warnings[0], /could not check whether Jenkins' home .* exists \(no answer in 300 ms\)/);
  });
});

describe("program.ts wiring of the data preflight", () => {
  for (const preview of [false, true]) {
    test(`${preview ? "preview" : "up"}: a refusal stops the program before anything is registered or revived`, async () => {
      const recorder = startRecording({ preview });
      setStackConfig(devStackConfig());
      const revived: boolean[] = [];
      const seen: string[] = [];
      await assert.rejects(
        program({
          hostFacts: () => MAC_FACTS,
          drift: (_c, _o, dryRun) => {
            revived.push(dryRun);
            return Promise.resolve(NO_DRIFT);
          },
          dataGuard: async (_config, owner) => {
            seen.push(owner);
            return { departing: ["platform-worker2"], problems: ["PersistentVolume pvc-1 …"], warnings: [] };
          },
        }),
        /data preflight failed; nothing was changed:\n {2}- PersistentVolume pvc-1/,
      );
      assert.deepEqual(seen, [OWNER], "the guard is asked with this stack's owner");
      assert.equal(recorder.registrations.length, 0);
      assert.deepEqual(revived, []);
    });
  }

  test("no problems: the lab is built", async () => {
    // The laptop lab: what matters is that the program goes on to register the lab.
    const recorder = startRecording({ preview: true });
    setStackConfig(smallStackConfig());
    await record(recorder, () =>
      program({
        hostFacts: () => MAC_FACTS,
        dataGuard: async () => ({ departing: [], problems: [], warnings: ["w"] }),
      }),
    );
    assert.ok(recorder.registrations.some((r) => r.name === "small-master-clone"));
  });
});
