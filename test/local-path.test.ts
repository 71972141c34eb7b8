/**
 * local-path-provisioner under mocks: typed objects, no
 * download at `up`, every object through its cluster's provider, exact pins, upstream v0.0.37's RBAC and
 * Deployment, the StorageClass created as the default, the control-plane toleration exactly on clusters without
 * workers, and the ordering edges. Expected values are written out here from upstream's
 * deploy/local-path-storage.yaml at tag v0.0.37 (not derived from manifests/local-path.ts).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { VERSIONS } from "../lib/versions";
import { helperPod, tolerateControlPlane } from "../manifests/local-path";
import { Recorder, dependsOn, devStackConfig, providerName, runLab, sharedLab } from "./harness/pulumi";

const CLUSTERS = ["platform", "dev", "staging"];
const CHILDREN = [
  ["local-path-namespace", "kubernetes:core/v1:Namespace"],
  ["local-path-sa", "kubernetes:core/v1:ServiceAccount"],
  ["local-path-role", "kubernetes:rbac.authorization.k8s.io/v1:Role"],
  ["local-path-rolebinding", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"],
  ["local-path-clusterrole", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"],
  ["local-path-clusterrolebinding", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"],
  ["local-path-config", "kubernetes:core/v1:ConfigMap"],
  ["local-path-provisioner", "kubernetes:apps/v1:Deployment"],
  ["default-storageclass", "kubernetes:storage.k8s.io/v1:StorageClass"],
] as const;

const CONTROL_PLANE = {
  key: "node-role.kubernetes.io/control-plane",
  operator: "Exists",
  effect: "NoSchedule",
};
const DISK_PRESSURE = { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" };

/** Pulumi.dev.yaml with `dev` reduced to its control plane: a cluster without workers. */
function oneNodeDevConfig(): Record<string, unknown> {
  const config = structuredClone(devStackConfig()) as any;
  const dev = config["tartlab:clusters"].find((c: any) => c.name === "dev");
  dev.nodes = dev.nodes.filter((n: any) => n.role === "control-plane");
  assert.equal(dev.nodes.length, 1);
  return config;
}

/**
 * The helper pod checks of local-path v0.0.37 without --allow-unsafe-helper-pod-template (util.go
 * loadHelperPodFile + validateHelperPodTemplate): a template that fails them stops the provisioner at start.
 */
function upstreamHelperPodProblems(p: any): string[] {
  const spec = p?.spec ?? {};
  const c = spec.containers?.[0] ?? {};
  const problems: string[] = [];
  const forbid = (cond: unknown, what: string) => cond && problems.push(what);
  forbid((spec.containers ?? []).length !== 1, "exactly one container");
  forbid((spec.initContainers ?? []).length > 0, "initContainers");
  forbid((spec.ephemeralContainers ?? []).length > 0, "ephemeralContainers");
  forbid((spec.volumes ?? []).length > 0, "volumes");
  forbid(spec.hostNetwork || spec.hostPID || spec.hostIPC, "host namespaces");
  forbid(spec.nodeName, "nodeName");
  forbid(spec.serviceAccountName, "serviceAccountName");
  forbid((c.volumeMounts ?? []).length > 0, "volumeMounts");
  forbid((c.envFrom ?? []).length > 0, "envFrom");
  forbid(c.lifecycle || c.livenessProbe || c.readinessProbe || c.startupProbe, "hooks or probes");
  forbid(
    (c.env ?? []).some((e: any) => e.valueFrom),
    "env.valueFrom",
  );
  forbid(spec.securityContext?.runAsUser === 0 || spec.securityContext?.runAsGroup === 0, "root pod");
  forbid((spec.securityContext?.sysctls ?? []).length > 0, "sysctls");
  forbid(c.securityContext?.privileged || c.securityContext?.allowPrivilegeEscalation, "privileged");
  forbid((c.securityContext?.capabilities?.add ?? []).length > 0, "capabilities");
  return problems;
}

describe("local-path-provisioner in the default lab", () => {
  let rec: Recorder;
  before(async () => {
    rec = (await sharedLab()).recorder;
  });
  const child = (c: string, suffix: string) => rec.byName(`${c}-${suffix}`);

  test("typed objects only: no manifest file, URL or patch anywhere in the graph", () => {
    const types = rec.registrations.map((r) => r.type);
    assert.ok(!types.some((t) => t.startsWith("kubernetes:yaml")), "no ConfigFile/ConfigGroup");
    assert.ok(!types.some((t) => t.endsWith("Patch")), "no server-side patch");
    for (const c of CLUSTERS) {
      for (const [suffix] of CHILDREN) {
        assert.doesNotMatch(JSON.stringify(child(c, suffix).inputs), /https?:\/\//, `${c}-${suffix}`);
      }
    }
  });

  test("each cluster: exactly these objects, under its LocalPathStorage, through its own provider", () => {
    for (const c of CLUSTERS) {
      const mine = rec.registrations.filter((r) =>
        r.parentUrn.endsWith(`tartlab:index:LocalPathStorage::${c}`),
      );
      assert.deepEqual(
        mine.map((r) => `${r.name} ${r.type}`).sort(),
        CHILDREN.map(([suffix, type]) => `${c}-${suffix} ${type}`).sort(),
      );
      for (const r of mine) assert.equal(providerName(r.provider), `${c}-k8s`, r.name);
    }
  });

  test("object names and namespaces are upstream's (the provisioner's own defaults)", () => {
    const meta = (s: string) => child("dev", s).inputs.metadata;
    assert.deepEqual(meta("local-path-namespace"), { name: "local-path-storage" });
    const ns = "local-path-storage";
    assert.deepEqual(meta("local-path-sa"), {
      name: "local-path-provisioner-service-account",
      namespace: ns,
    });
    assert.deepEqual(meta("local-path-role"), { name: "local-path-provisioner-role", namespace: ns });
    assert.deepEqual(meta("local-path-rolebinding"), { name: "local-path-provisioner-bind", namespace: ns });
    assert.deepEqual(meta("local-path-clusterrole"), { name: "local-path-provisioner-role" });
    assert.deepEqual(meta("local-path-clusterrolebinding"), { name: "local-path-provisioner-bind" });
    assert.deepEqual(meta("local-path-config"), { name: "local-path-config", namespace: ns });
    assert.deepEqual(meta("local-path-provisioner"), { name: "local-path-provisioner", namespace: ns });
  });

  test("RBAC rules and bindings exactly as upstream v0.0.37", () => {
    const all = ["get", "list", "watch", "create", "patch", "update", "delete"];
    assert.deepEqual(child("platform", "local-path-role").inputs.rules, [
      { apiGroups: [""], resources: ["pods"], verbs: all },
    ]);
    assert.deepEqual(child("platform", "local-path-clusterrole").inputs.rules, [
      {
        apiGroups: [""],
        resources: ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
        verbs: ["get", "list", "watch"],
      },
      { apiGroups: [""], resources: ["persistentvolumes"], verbs: all },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
    ]);
    const subjects = [
      {
        kind: "ServiceAccount",
        name: "local-path-provisioner-service-account",
        namespace: "local-path-storage",
      },
    ];
    const rb = child("platform", "local-path-rolebinding").inputs;
    assert.deepEqual(rb.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "local-path-provisioner-role",
    });
    assert.deepEqual(rb.subjects, subjects);
    const crb = child("platform", "local-path-clusterrolebinding").inputs;
    assert.deepEqual(crb.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "local-path-provisioner-role",
    });
    assert.deepEqual(crb.subjects, subjects);
  });

  test("pinned images: provisioner of the release, tagged busybox helper (never an untagged `latest`)", () => {
    assert.equal(VERSIONS.localPathProvisionerImage, "docker.io/rancher/local-path-provisioner:v0.0.37");
    assert.ok(VERSIONS.localPathProvisionerImage.endsWith(`:${VERSIONS.localPathProvisioner}`));
    assert.equal(VERSIONS.localPathHelperImage, "docker.io/library/busybox:1.37.0");
    for (const c of CLUSTERS) {
      const pod = child(c, "local-path-provisioner").inputs.spec.template.spec;
      assert.deepEqual(
        pod.containers.map((x: any) => x.image),
        [VERSIONS.localPathProvisionerImage],
      );
      const helper = parse(child(c, "local-path-config").inputs.data["helperPod.yaml"]);
      assert.deepEqual(
        helper.spec.containers.map((x: any) => x.image),
        [VERSIONS.localPathHelperImage],
      );
    }
  });

  test("the Deployment is upstream's: args, probes, env, config mount, service account", () => {
    const d = child("staging", "local-path-provisioner").inputs;
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.selector, { matchLabels: { app: "local-path-provisioner" } });
    assert.deepEqual(d.spec.template.metadata, { labels: { app: "local-path-provisioner" } });
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, "local-path-provisioner-service-account");
    assert.deepEqual(pod.volumes, [{ name: "config-volume", configMap: { name: "local-path-config" } }]);
    const [c] = pod.containers;
    assert.equal(c.name, "local-path-provisioner");
    assert.equal(c.imagePullPolicy, "IfNotPresent");
    assert.deepEqual(c.command, [
      "local-path-provisioner",
      "--debug",
      "start",
      "--config",
      "/etc/config/config.json",
    ]);
    assert.deepEqual(c.ports, [{ name: "health", containerPort: 8080, protocol: "TCP" }]);
    assert.deepEqual(c.startupProbe, {
      httpGet: { path: "/health", port: "health" },
      initialDelaySeconds: 5,
      periodSeconds: 5,
      failureThreshold: 12,
    });
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: "/health", port: "health" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
    });
    assert.deepEqual(c.readinessProbe, {
      httpGet: { path: "/ready", port: "health" },
      initialDelaySeconds: 5,
      periodSeconds: 5,
    });
    assert.deepEqual(c.volumeMounts, [{ name: "config-volume", mountPath: "/etc/config/" }]);
    assert.deepEqual(c.env, [
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "CONFIG_MOUNT_PATH", value: "/etc/config/" },
      { name: "HEALTH_PORT", value: "8080" },
    ]);
  });

  test("the ConfigMap: data path, upstream's scripts, a helper pod template upstream accepts", () => {
    const data = child("dev", "local-path-config").inputs.data;
    assert.deepEqual(Object.keys(data).sort(), ["config.json", "helperPod.yaml", "setup", "teardown"]);
    assert.deepEqual(JSON.parse(data["config.json"]), {
      nodePathMap: [{ node: "DEFAULT_PATH_FOR_NON_LISTED_NODES", paths: ["/opt/local-path-provisioner"] }],
    });
    assert.equal(data.setup, '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"');
    assert.equal(data.teardown, '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"');
    const helper = parse(data["helperPod.yaml"]);
    assert.deepEqual(upstreamHelperPodProblems(helper), []);
    assert.equal(helper.kind, "Pod");
    assert.equal(helper.metadata.name, "helper-pod");
    assert.equal(helper.spec.priorityClassName, "system-node-critical");
    assert.deepEqual(helper.spec.containers, [
      { name: "helper-pod", image: VERSIONS.localPathHelperImage, imagePullPolicy: "IfNotPresent" },
    ]);
  });

  test("the StorageClass `local-path` is created as the cluster default (T06)", () => {
    for (const c of CLUSTERS) {
      const sc = child(c, "default-storageclass").inputs;
      assert.deepEqual(sc.metadata, {
        name: "local-path",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      });
      assert.equal(sc.provisioner, "rancher.io/local-path");
      assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
      assert.equal(sc.reclaimPolicy, "Delete");
    }
  });

  test("clusters with workers: no toleration on the provisioner, upstream's disk-pressure one on helper pods", () => {
    for (const c of CLUSTERS) {
      assert.equal(child(c, "local-path-provisioner").inputs.spec.template.spec.tolerations, undefined, c);
      const helper = parse(child(c, "local-path-config").inputs.data["helperPod.yaml"]);
      assert.deepEqual(helper.spec.tolerations, [DISK_PRESSURE], c);
    }
  });

  test("ordering: nodes-Ready gate -> namespace -> everything; config and RBAC -> provisioner -> StorageClass", () => {
    for (const c of CLUSTERS) {
      assert.deepEqual(child(c, "local-path-namespace").dependencies, [`${c}-nodes-ready`]);
      for (const [suffix] of CHILDREN) {
        assert.ok(
          dependsOn(rec, `${c}-${suffix}`, `${c}-nodes-ready`),
          `${c}-${suffix} after the Ready gate`,
        );
      }
      const d = `${c}-local-path-provisioner`;
      assert.deepEqual(
        [...child(c, "local-path-provisioner").dependencies].sort(),
        [
          "local-path-clusterrole",
          "local-path-clusterrolebinding",
          "local-path-config",
          "local-path-role",
          "local-path-rolebinding",
          "local-path-sa",
        ].map((s) => `${c}-${s}`),
        "the provisioner starts after its ConfigMap, service account and RBAC",
      );
      assert.deepEqual(child(c, "default-storageclass").dependencies, [d]);
    }
  });
});

describe("a cluster without workers", () => {
  let rec: Recorder;
  before(async () => {
    rec = (await runLab(oneNodeDevConfig())).recorder;
  });

  test("its provisioner and helper pods tolerate the control-plane taint; the other clusters' do not", () => {
    for (const c of CLUSTERS) {
      const pod = rec.byName(`${c}-local-path-provisioner`).inputs.spec.template.spec;
      const helper = parse(rec.byName(`${c}-local-path-config`).inputs.data["helperPod.yaml"]);
      if (c === "dev") {
        assert.deepEqual(pod.tolerations, [CONTROL_PLANE]);
        assert.deepEqual(helper.spec.tolerations, [DISK_PRESSURE, CONTROL_PLANE]);
        assert.deepEqual(upstreamHelperPodProblems(helper), [], "tolerations are allowed in the template");
      } else {
        assert.equal(pod.tolerations, undefined, c);
        assert.deepEqual(helper.spec.tolerations, [DISK_PRESSURE], c);
      }
    }
  });

  test("the rest of its local-path is unchanged", () => {
    assert.ok(dependsOn(rec, "dev-default-storageclass", "dev-nodes-ready"));
    assert.equal(
      rec.byName("dev-default-storageclass").inputs.metadata.annotations[
        "storageclass.kubernetes.io/is-default-class"
      ],
      "true",
    );
  });
});

describe("node count", () => {
  test("1 node = no workers = tolerate; 2 or more = do not", () => {
    assert.equal(tolerateControlPlane({ nodeCount: 1 }), true);
    assert.equal(tolerateControlPlane({ nodeCount: 2 }), false);
    assert.equal(tolerateControlPlane({ nodeCount: 7 }), false);
  });

  test("a count that is not a positive integer is refused with the value and the fix", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => tolerateControlPlane({ nodeCount: bad }),
        /nodeCount .* pass the cluster's number of nodes/,
      );
      assert.throws(() => helperPod({ nodeCount: bad }), /nodeCount/);
    }
  });
});
