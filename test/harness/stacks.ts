/** Lab configs tests share: raw (the keys without `tartlab:`, as validation takes them) or as stack config. */
import { devRawConfig, devStackConfig } from "./pulumi";

/**
 * A cluster as a stack file spells it: `<name>-master`, then `workers` workers `<name>-worker<N>`, each with 2 CPUs
 * and 4096 MB: the one shape every test lab's clusters share.
 */
export function rawCluster(
  name: string,
  podCidr: string,
  serviceCidr: string,
  { workers = 1, diskGb = 25 }: { workers?: number; diskGb?: number } = {},
) {
  const node = (suffix: string, role: string) => ({
    name: `${name}-${suffix}`,
    role,
    cpus: 2,
    memoryMb: 4096,
    diskGb,
  });
  return {
    name,
    podCidr,
    serviceCidr,
    nodes: [
      node("master", "control-plane"),
      ...Array.from({ length: workers }, (_, i) => node(`worker${i + 1}`, "worker")),
    ],
  };
}

/** Raw config as a stack file holds it (every key with `tartlab:`): what runLab and Pulumi.<stack>.yaml take. */
export const asStackConfig = (raw: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(raw).map(([k, v]) => [`tartlab:${k}`, v]));

/** One cluster of a control plane and a worker, no Jenkins: the smallest lab that starts, stops and snapshots. */
export const DEV_PAIR = {
  clusters: [rawCluster("dev", "10.20.0.0/16", "10.97.0.0/16")],
  jenkins: { enabled: false },
};

/** The default lab's (Pulumi.dev.yaml) VMs in config order: what several tests expect it to make or guard. */
export const DEV_LAB_VMS: readonly string[] = [
  "platform-master",
  "platform-worker1",
  "platform-worker2",
  "dev-master",
  "dev-worker1",
  "staging-master",
  "staging-worker1",
];

/** Pulumi.dev.yaml with one one-node cluster `solo` (Jenkins on it): a cluster with no worker to join. */
export function soloStackConfig(): Record<string, unknown> {
  const raw = devRawConfig();
  raw.clusters = [rawCluster("solo", "10.40.0.0/16", "10.99.0.0/16", { workers: 0 })];
  raw.jenkins = { ...raw.jenkins, cluster: "solo" };
  return asStackConfig(raw);
}

/**
 * Pulumi.dev.yaml's dev cluster alone (with `changes`), no Jenkins: for tests that run only its steps, as a smaller
 * lab records faster.
 */
export function devClusterStackConfig(changes: Record<string, unknown> = {}): Record<string, any> {
  const config = structuredClone(devStackConfig()) as Record<string, any>;
  config["tartlab:clusters"] = [{ ...config["tartlab:clusters"][1], ...changes }];
  config["tartlab:jenkins"] = { enabled: false };
  return config;
}
