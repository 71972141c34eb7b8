import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { jenkinsValues } from "../manifests/jenkins-values";
import {
  FAKE_PASSWORD,
  Recorder,
  dependsOn,
  devStackConfig,
  fakeIp,
  isSecretValue,
  providerName,
  runLab,
  sharedLab,
  smallStackConfig,
} from "./harness/pulumi";
import { inspect } from "./harness/outputs";

const ROOT = path.join(__dirname, "..");
const REFERENCE_VALUES = path.join(ROOT, "..", "shared", "charts", "jenkins-5.9.53-values.yaml");
/**
 * Key paths of the jenkins chart 5.9.53 values.yaml that tartlab may set, written here so the check never
 * depends on ../shared. Source: https://github.com/jenkinsci/helm-charts/blob/jenkins-5.9.53/charts/jenkins/values.yaml
 * (controller.image.pullPolicy 55, controller.admin.* lines 87-105, controller.serviceType 237, controller.nodePort
 * 246, persistence.* 1310-1334).
 * When ../shared/charts holds the file, the list is cross-checked against it too.
 */
const CHART_KEYS = [
  "controller.admin.existingSecret",
  "controller.admin.userKey",
  "controller.admin.passwordKey",
  "controller.admin.createSecret",
  "controller.image.pullPolicy",
  "controller.serviceType",
  "controller.nodePort",
  "controller.nodeSelector",
  "controller.tolerations",
  "persistence.enabled",
  "persistence.annotations",
  "persistence.storageClass",
  "persistence.size",
];

describe("platform services in the default lab", () => {
  let rec: Recorder;
  let outputs: any;
  before(async () => {
    ({ recorder: rec, outputs } = await sharedLab());
  });

  test("every cluster gets local-path's default StorageClass through its own provider, after nodes are Ready", () => {
    // The objects themselves (typed, no download at `up`) are checked in test/local-path.test.ts.
    for (const c of ["platform", "dev", "staging"]) {
      const sc = rec.byName(`${c}-default-storageclass`);
      assert.equal(sc.type, "kubernetes:storage.k8s.io/v1:StorageClass");
      assert.equal(providerName(sc.provider), `${c}-k8s`);
      assert.equal(sc.inputs.metadata.name, "local-path");
      assert.equal(sc.inputs.metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
      assert.ok(dependsOn(rec, sc.name, `${c}-nodes-ready`), `${c}: local-path after the Ready gate`);
      assert.ok(
        dependsOn(rec, sc.name, `${c}-local-path-provisioner`),
        `${c}: the class once its provisioner runs`,
      );
    }
  });

  test("every Kubernetes resource names its cluster's provider explicitly", () => {
    for (const r of rec.registrations.filter((x) => x.type.startsWith("kubernetes:"))) {
      assert.match(providerName(r.provider), /^(platform|dev|staging)-k8s$/, r.name);
      assert.ok(
        r.name.startsWith(providerName(r.provider).replace(/-k8s$/, "")),
        `${r.name} uses its own cluster`,
      );
    }
  });

  test("Jenkins only on platform, through the platform provider, after the default StorageClass (T06)", () => {
    const jenkins = rec.registrations.filter((r) => r.name.includes("jenkins"));
    assert.deepEqual(
      jenkins.map((r) => r.name),
      [
        "platform-jenkins",
        "platform-jenkins-admin-password",
        "platform-jenkins-namespace",
        "platform-jenkins-admin-secret",
        "platform-jenkins-release",
      ],
    );
    const rel = rec.byName("platform-jenkins-release");
    assert.equal(providerName(rel.provider), "platform-k8s");
    assert.ok(
      rel.dependencies.includes("platform-default-storageclass"),
      "direct edge to the default StorageClass",
    );
    assert.ok(dependsOn(rec, rel.name, "platform-nodes-ready"));
    assert.ok(dependsOn(rec, rel.name, "platform-jenkins-admin-secret"));
  });

  test("Jenkins chart pinned, values typed and exact", () => {
    const rel = rec.byName("platform-jenkins-release");
    assert.equal(rel.type, "kubernetes:helm.sh/v3:Release");
    assert.equal(rel.inputs.chart, "jenkins");
    assert.equal(rel.inputs.version, "5.9.53");
    assert.deepEqual(rel.inputs.repositoryOpts, { repo: "https://charts.jenkins.io" });
    assert.equal(rel.inputs.namespace, "jenkins");
    assert.deepEqual(rel.inputs.values, {
      controller: {
        admin: {
          existingSecret: "jenkins-admin",
          userKey: "jenkins-admin-user",
          passwordKey: "jenkins-admin-password",
          createSecret: true,
        },
        image: { pullPolicy: "IfNotPresent" },
        serviceType: "NodePort",
        nodePort: 32080,
        nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
        tolerations: [
          { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
        ],
      },
      persistence: { enabled: true, size: "8Gi" },
    });
  });

  test("Jenkins' home lives on the control plane: removing or rebuilding a worker cannot take it", () => {
    const { controller } = rec.byName("platform-jenkins-release").inputs.values;
    // WaitForFirstConsumer: local-path creates the PV on the node of the first pod, i.e. where the controller runs.
    assert.deepEqual(controller.nodeSelector, { "node-role.kubernetes.io/control-plane": "" });
    assert.ok(
      controller.tolerations.some(
        (t: any) =>
          t.key === "node-role.kubernetes.io/control-plane" &&
          t.operator === "Exists" &&
          t.effect === "NoSchedule",
      ),
      "tolerates kubeadm's control-plane taint",
    );
    assert.equal(
      rec.byName("platform-jenkins-release").inputs.values.agent,
      undefined,
      "agents (no volume) unpinned",
    );
  });

  test("the controller image is pulled only when the node lacks it (the chart would pull Always, past a pre-pulled image)", () => {
    const { controller } = rec.byName("platform-jenkins-release").inputs.values;
    // What the kubelet gets: tartlab's value, else the chart's default ("Always" in 5.9.53's values.yaml).
    const chartDefault = existsSync(REFERENCE_VALUES)
      ? parse(readFileSync(REFERENCE_VALUES, "utf8")).controller.image.pullPolicy
      : "Always";
    assert.equal(controller.image?.pullPolicy ?? chartDefault, "IfNotPresent");
  });

  test("by default nothing of Jenkins is retained: disabling it deletes its namespace and PVC", () => {
    assert.equal(rec.byName("platform-jenkins-namespace").options.retainOnDelete, false);
    assert.equal(rec.byName("platform-jenkins-release").inputs.values.persistence.annotations, undefined);
  });

  test("the admin password is secret everywhere it flows", async () => {
    const pw = rec.byName("platform-jenkins-admin-password");
    assert.ok(pw.options.additionalSecretOutputs.includes("result"));
    const secret = rec.byName("platform-jenkins-admin-secret");
    assert.ok(isSecretValue(secret.inputs.stringData), "Secret.stringData is secret");
    assert.deepEqual(secret.inputs.stringData.value, {
      "jenkins-admin-user": "admin",
      "jenkins-admin-password": FAKE_PASSWORD,
    });
    assert.doesNotMatch(
      JSON.stringify(rec.byName("platform-jenkins-release").inputs),
      new RegExp(FAKE_PASSWORD),
    );
    const out = await inspect(outputs.jenkinsAdminPassword);
    assert.equal(out.isSecret, true);
    assert.equal(out.value, FAKE_PASSWORD);
  });

  test("stack outputs: Jenkins URL on the platform control plane's NodePort", async () => {
    assert.equal((await inspect(outputs.jenkinsUrl)).value, `http://${fakeIp("platform-master")}:32080`);
  });

  test("stack output names are exactly those documented in README", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(
      readme.indexOf("## Stack outputs"),
      readme.indexOf("\n## ", readme.indexOf("## Stack outputs") + 3),
    );
    const documented = [...section.matchAll(/^\| `([A-Za-z]+)`\s+\|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, Object.keys(outputs).sort());
  });
});

describe("Jenkins values against the pinned chart's values.yaml", () => {
  /** Every key path of a values object ("controller.admin.existingSecret", …). */
  const paths = (o: object, prefix = ""): string[] =>
    Object.entries(o).flatMap(([k, v]) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? paths(v, `${prefix}${k}.`)
        : [`${prefix}${k}`],
    );
  /** Keys whose chart default is an empty map take free-form entries (labels, annotations): the key path ends there. */
  const FREE_FORM = ["controller.nodeSelector", "persistence.annotations"];

  test("every key tartlab sets is a key of the jenkins 5.9.53 chart (CHART_KEYS)", () => {
    const set = paths(jenkinsValues({ nodePort: 32080, retainData: true }));
    assert.ok(set.length >= 10);
    for (const p of set) {
      const free = FREE_FORM.find((f) => p.startsWith(`${f}.`));
      assert.ok(CHART_KEYS.includes(free ?? p), `${p} is not a key of the chart's values.yaml`);
    }
    assert.ok(set.includes("controller.tolerations"));
    // The canonical trap (T06): the old key is not one.
    assert.ok(!CHART_KEYS.some((k) => k.startsWith("controller.adminPassword")));
  });

  test("CHART_KEYS agrees with the chart's values.yaml when ../shared/charts has it", (t) => {
    if (!existsSync(REFERENCE_VALUES))
      return t.diagnostic(`${REFERENCE_VALUES} not present; CHART_KEYS used alone`);
    const reference = parse(readFileSync(REFERENCE_VALUES, "utf8"));
    for (const p of CHART_KEYS) {
      let node: any = reference;
      for (const key of p.split(".")) {
        assert.ok(
          node !== null && typeof node === "object" && key in node,
          `${p}: "${key}" is not in the chart's values.yaml`,
        );
        node = node[key];
      }
    }
    for (const f of FREE_FORM) {
      const dflt = f.split(".").reduce((n: any, k) => n[k], reference);
      assert.deepEqual(dflt, {}, `${f} is a free-form map in the chart`);
    }
    assert.ok(!("adminPassword" in reference.controller));
  });
});

describe("config variations", () => {
  // The switches act on the cluster Jenkins runs on: the laptop lab (Jenkins on its one cluster) shows them.
  test("jenkins.enabled false: no Jenkins, no Jenkins outputs", async () => {
    const config = { ...smallStackConfig(), "tartlab:jenkins": { enabled: false } };
    const { recorder, outputs } = await runLab(config);
    assert.deepEqual(
      recorder.registrations.filter((r) => r.name.includes("jenkins")),
      [],
    );
    assert.equal(outputs.jenkinsUrl, undefined);
  });

  test("jenkins.retainData: the namespace is only dropped from state and the home PVC carries Helm's keep policy", async () => {
    const config = {
      ...smallStackConfig(),
      "tartlab:jenkins": { ...(smallStackConfig()["tartlab:jenkins"] as object), retainData: true },
    };
    const { recorder } = await runLab(config);
    assert.equal(recorder.byName("small-jenkins-namespace").options.retainOnDelete, true);
    assert.deepEqual(recorder.byName("small-jenkins-release").inputs.values.persistence, {
      enabled: true,
      size: "8Gi",
      annotations: { "helm.sh/resource-policy": "keep" },
    });
  });

  test("jenkins.retainData must be a boolean", async () => {
    const config = { ...smallStackConfig(), "tartlab:jenkins": { retainData: "yes" } };
    await assert.rejects(runLab(config), /tartlab:jenkins\.retainData must be true or false, got "yes"/);
  });

  test("Jenkins can live on another cluster, with that cluster's provider", async () => {
    const config = { ...devStackConfig(), "tartlab:jenkins": { cluster: "dev", nodePort: 31000 } };
    const { recorder } = await runLab(config);
    const rel = recorder.byName("dev-jenkins-release");
    assert.equal(providerName(rel.provider), "dev-k8s");
    assert.ok(rel.dependencies.includes("dev-default-storageclass"));
    assert.equal(rel.inputs.values.controller.nodePort, 31000);
  });
});
