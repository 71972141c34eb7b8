/**
 * rancher/local-path-provisioner v0.0.37 as typed objects, from
 * https://github.com/rancher/local-path-provisioner/blob/v0.0.37/deploy/local-path-storage.yaml (commit
 * 49b2be8e); where it differs (default StorageClass, T06; pinned helper image; control-plane toleration) a
 * comment says why.
 */
import type * as k8s from "@pulumi/kubernetes";
import { stringify } from "yaml";
import { VERSIONS } from "../lib/versions";

/**
 * These are also the provisioner's own flag defaults (main.go at v0.0.37), and helper pods run under that
 * service account: keep them.
 */
const LOCAL_PATH = {
  namespace: "local-path-storage",
  serviceAccount: "local-path-provisioner-service-account",
  role: "local-path-provisioner-role",
  binding: "local-path-provisioner-bind",
  configMap: "local-path-config",
  deployment: "local-path-provisioner",
  storageClass: "local-path",
  /** main.go DefaultProvisionerName; the StorageClass must name it. */
  provisioner: "rancher.io/local-path",
  dataPath: "/opt/local-path-provisioner",
} as const;

/** Upstream's Deployment has no tolerations: without workers the provisioner and every PVC stay Pending. */
const CONTROL_PLANE_TOLERATION: k8s.types.input.core.v1.Toleration = {
  key: "node-role.kubernetes.io/control-plane",
  operator: "Exists",
  effect: "NoSchedule",
};

export interface LocalPathOptions {
  /** Validated in lib/lab-config.ts. */
  readonly nodeCount: number;
}

export function tolerateControlPlane(opts: LocalPathOptions): boolean {
  if (!Number.isInteger(opts.nodeCount) || opts.nodeCount < 1) {
    throw new Error(
      `LocalPathStorage nodeCount ${String(opts.nodeCount)} is not a node count; pass the cluster's number of nodes (1 or more)`,
    );
  }
  return opts.nodeCount === 1;
}

const nsMeta = (name: string) => ({ name, namespace: LOCAL_PATH.namespace });

const serviceAccountSubject: k8s.types.input.rbac.v1.Subject = {
  kind: "ServiceAccount",
  name: LOCAL_PATH.serviceAccount,
  namespace: LOCAL_PATH.namespace,
};

export function namespace(): k8s.core.v1.NamespaceArgs {
  return { metadata: { name: LOCAL_PATH.namespace } };
}

export function serviceAccount(): k8s.core.v1.ServiceAccountArgs {
  return { metadata: nsMeta(LOCAL_PATH.serviceAccount) };
}

/** Namespaced: the provisioner creates and deletes its helper pods in its own namespace. */
export function role(): k8s.rbac.v1.RoleArgs {
  return {
    metadata: nsMeta(LOCAL_PATH.role),
    rules: [
      {
        apiGroups: [""],
        resources: ["pods"],
        verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
      },
    ],
  };
}

export function clusterRole(): k8s.rbac.v1.ClusterRoleArgs {
  return {
    metadata: { name: LOCAL_PATH.role },
    rules: [
      {
        apiGroups: [""],
        resources: ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: [""],
        resources: ["persistentvolumes"],
        verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
      },
      { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
      { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
    ],
  };
}

export function roleBinding(): k8s.rbac.v1.RoleBindingArgs {
  return {
    metadata: nsMeta(LOCAL_PATH.binding),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: LOCAL_PATH.role },
    subjects: [serviceAccountSubject],
  };
}

export function clusterRoleBinding(): k8s.rbac.v1.ClusterRoleBindingArgs {
  return {
    metadata: { name: LOCAL_PATH.binding },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: LOCAL_PATH.role },
    subjects: [serviceAccountSubject],
  };
}

/** Upstream's text re-serialised; the provisioner parses JSON. */
function configJson(): string {
  return JSON.stringify(
    { nodePathMap: [{ node: "DEFAULT_PATH_FOR_NON_LISTED_NODES", paths: [LOCAL_PATH.dataPath] }] },
    null,
    2,
  );
}

/**
 * The provisioner refuses templates with volumes, probes or host namespaces (util.go
 * validateHelperPodTemplate) and adds its own disk-pressure toleration only when there is none
 * (provisioner.go createHelperPod), so upstream's entry stays beside the control-plane one.
 */
export function helperPod(opts: LocalPathOptions): k8s.types.input.core.v1.Pod {
  const diskPressure: k8s.types.input.core.v1.Toleration = {
    key: "node.kubernetes.io/disk-pressure",
    operator: "Exists",
    effect: "NoSchedule",
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "helper-pod" },
    spec: {
      priorityClassName: "system-node-critical",
      tolerations: tolerateControlPlane(opts) ? [diskPressure, CONTROL_PLANE_TOLERATION] : [diskPressure],
      containers: [
        { name: "helper-pod", image: VERSIONS.localPathHelperImage, imagePullPolicy: "IfNotPresent" },
      ],
    },
  };
}

export function configMap(opts: LocalPathOptions): k8s.core.v1.ConfigMapArgs {
  return {
    metadata: nsMeta(LOCAL_PATH.configMap),
    data: {
      "config.json": configJson(),
      // Upstream's scripts verbatim (YAML `|-`: no trailing newline).
      setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"',
      teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"',
      "helperPod.yaml": stringify(helperPod(opts)),
    },
  };
}

export function deployment(opts: LocalPathOptions): k8s.apps.v1.DeploymentArgs {
  const labels = { app: LOCAL_PATH.deployment };
  const configDir = "/etc/config/";
  return {
    metadata: nsMeta(LOCAL_PATH.deployment),
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: LOCAL_PATH.serviceAccount,
          ...(tolerateControlPlane(opts) ? { tolerations: [CONTROL_PLANE_TOLERATION] } : {}),
          containers: [
            {
              name: LOCAL_PATH.deployment,
              image: VERSIONS.localPathProvisionerImage,
              imagePullPolicy: "IfNotPresent",
              command: ["local-path-provisioner", "--debug", "start", "--config", `${configDir}config.json`],
              ports: [{ name: "health", containerPort: 8080, protocol: "TCP" }],
              startupProbe: {
                httpGet: { path: "/health", port: "health" },
                initialDelaySeconds: 5,
                periodSeconds: 5,
                failureThreshold: 12,
              },
              livenessProbe: {
                httpGet: { path: "/health", port: "health" },
                initialDelaySeconds: 10,
                periodSeconds: 10,
              },
              readinessProbe: {
                httpGet: { path: "/ready", port: "health" },
                initialDelaySeconds: 5,
                periodSeconds: 5,
              },
              volumeMounts: [{ name: "config-volume", mountPath: configDir }],
              env: [
                { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "CONFIG_MOUNT_PATH", value: configDir },
                { name: "HEALTH_PORT", value: "8080" },
              ],
            },
          ],
          volumes: [{ name: "config-volume", configMap: { name: LOCAL_PATH.configMap } }],
        },
      },
    },
  };
}

/**
 * Upstream has no default annotation and kubeadm makes no class, so a PVC without storageClassName gets this
 * one (kubernetes.io "change-default-storage-class").
 */
export function storageClass(): k8s.storage.v1.StorageClassArgs {
  return {
    metadata: {
      name: LOCAL_PATH.storageClass,
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: LOCAL_PATH.provisioner,
    volumeBindingMode: "WaitForFirstConsumer",
    reclaimPolicy: "Delete",
  };
}
