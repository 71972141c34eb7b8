/**
 * local-path volumes (T06) live on one node, pinned by the PV's `kubernetes.io/hostname` affinity (local-path
 * provisioner.go), so deleting that node's VM strands them: a plan that removes, re-clones or rebuilds the
 * cluster of a VM holding a volume is refused unless `tartlab:allowDataLoss`, and disabling Jenkins warns
 * about its home volume. Only clusters losing a VM are read (with mac/status.ts's client and deadlines), so
 * an unchanged lab previews offline, and an API that does not answer cannot prove the data safe.
 */
import * as k8s from "@kubernetes/client-node";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { HELM_KEEP, JENKINS_HOME_PVC, JENKINS_NAMESPACE } from "../manifests/jenkins-values";
import { clusterKubeconfigPath, ownedBy, tartlabHome } from "./home";
import { ClusterRecords, parseClusterRecord } from "../lib/cluster-record-format";
import { LabConfig, NS, allNodes } from "../lib/lab-config";
import { apiError, deadline } from "./status";

export interface DataGuardOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Deadline of each API request. */
  readonly timeoutMs?: number;
}

export interface DataCheck {
  readonly departing: readonly string[];
  /** Reasons to refuse the run; empty when it may go on. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

export interface PlannedLoss {
  /** VMs cloned again (a new image), with their cluster: the volumes on them go with the old VM. */
  readonly recloned: readonly { readonly vm: string; readonly cluster: string }[];
  /** Clusters built anew, and why: every PersistentVolume in them is lost, whatever node holds it. */
  readonly rebuilt: readonly { readonly cluster: string; readonly why: string }[];
}

const NO_PLANNED_LOSS: PlannedLoss = { recloned: [], rebuilt: [] };

/**
 * A VM whose image changes is cloned again, and a cluster whose control plane is re-cloned or not one it was
 * built with is built anew; a cluster without a record has nothing to lose.
 */
export function plannedLoss(
  config: LabConfig,
  records: ClusterRecords,
  recloned: (cluster: string, vm: string) => boolean,
): PlannedLoss {
  const out: { recloned: PlannedLoss["recloned"][number][]; rebuilt: PlannedLoss["rebuilt"][number][] } = {
    recloned: [],
    rebuilt: [],
  };
  for (const c of config.clusters) {
    const record = records[c.name];
    if (!record) continue;
    for (const n of c.nodes) if (recloned(c.name, n.name)) out.recloned.push({ vm: n.name, cluster: c.name });
    const cp = c.nodes[0].name; // validated: the control plane is listed first
    const built = Object.keys(record.nodes);
    if (!built.includes(cp)) {
      const why = `its control plane ${cp} is not one of the nodes it was built with (${built.join(", ")})`;
      out.rebuilt.push({ cluster: c.name, why });
    } else if (recloned(c.name, cp)) {
      out.rebuilt.push({ cluster: c.name, why: `its control plane ${cp} is cloned again from a new image` });
    }
  }
  return out;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** provisioner.go: `KeyNode = "kubernetes.io/hostname"`. */
const HOSTNAME_KEY = "kubernetes.io/hostname";

export function departingVms(config: LabConfig, owner: string, env: NodeJS.ProcessEnv): string[] {
  const dir = path.join(tartlabHome(env), "vms");
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return []; // no markers: this stack never made a VM on this Mac
  }
  const listed = new Set(allNodes(config).map(({ node }) => node.name));
  return files
    .filter((f) => f.endsWith(".owner"))
    .map((f) => f.slice(0, -".owner".length))
    .filter((vm) => !listed.has(vm))
    .filter((vm) => ownedBy(vm, owner, env))
    .sort();
}

/** The config's clusters plus any cluster whose kubeconfig is still on the Mac (a cluster being removed). */
function candidateClusters(config: LabConfig, env: NodeJS.ProcessEnv): string[] {
  const names = new Set(config.clusters.map((c) => c.name));
  try {
    for (const f of readdirSync(path.join(tartlabHome(env), "kube"))) {
      if (f.endsWith(".yaml")) names.add(f.slice(0, -".yaml".length));
    }
  } catch {
    // no kubeconfigs yet
  }
  return [...names].sort();
}

/** A client for a cluster, or undefined when tartlab never wrote its kubeconfig (the cluster was never built). */
function client(cluster: string, env: NodeJS.ProcessEnv): k8s.KubeConfig | undefined {
  const file = clusterKubeconfigPath(env, cluster);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`kubeconfig ${file} is unreadable: ${(e as Error).message}`);
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromString(text);
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file} has no current context`);
  return kc;
}

function pinnedNodes(pv: k8s.V1PersistentVolume): string[] {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.flatMap((t) =>
    (t.matchExpressions ?? [])
      .filter((e) => e.key === HOSTNAME_KEY && e.operator === "In")
      .flatMap((e) => e.values ?? []),
  );
}

interface LostVolume {
  readonly cluster: string;
  readonly pv: string;
  readonly claim: string;
  readonly node: string;
  readonly why: string;
}

type Fate = "removes" | "clones again";
const FATE_WHY: Readonly<Record<Fate, string>> = {
  removes: "which this change removes: its data is deleted with the VM",
  "clones again": `which this change clones again from a new image (${NS}:baseImage): its data is deleted with the old VM`,
};

interface Query {
  readonly vms: Map<string, Fate>;
  rebuilt?: string;
}

/** The cluster whose record on the Mac lists `vm` (a removed cluster's record is still there), if any. */
function recordedClusterOf(vm: string, env: NodeJS.ProcessEnv): string | undefined {
  const dir = path.join(tartlabHome(env), "clusters");
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return undefined;
  }
  for (const f of files.sort()) {
    try {
      const file = path.join(dir, f);
      if (vm in parseClusterRecord(readFileSync(file, "utf8"), file).nodes)
        return f.slice(0, -".json".length);
    } catch {
      // an unreadable record proves nothing: the VM is looked for in every cluster
    }
  }
  return undefined;
}

/** The PVs each queried cluster loses; clusters that could not be read, with why. */
async function lostVolumes(
  queries: ReadonlyMap<string, Query>,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ volumes: LostVolume[]; unreadable: { cluster: string; why: string }[] }> {
  const volumes: LostVolume[] = [];
  const unreadable: { cluster: string; why: string }[] = [];
  await Promise.all(
    [...queries].map(async ([cluster, q]) => {
      try {
        const kc = client(cluster, env);
        if (!kc) return;
        const list = await kc
          .makeApiClient(k8s.CoreV1Api)
          .listPersistentVolume({}, deadline(timeoutMs))
          .catch((e: unknown) => {
            throw new Error(
              `API server ${kc.getCurrentCluster()?.server} does not answer: ${apiError(e, timeoutMs)}`,
            );
          });
        for (const pv of list.items) {
          const ref = pv.spec?.claimRef;
          const lost = (node: string, why: string) =>
            volumes.push({
              cluster,
              pv: pv.metadata?.name ?? "?",
              claim: ref ? `${ref.namespace}/${ref.name}` : "no claim",
              node,
              why,
            });
          const nodes = pinnedNodes(pv);
          if (q.rebuilt !== undefined) {
            lost(nodes.join(", ") || "no node", `is lost: cluster ${cluster} is built anew (${q.rebuilt})`);
            continue;
          }
          for (const node of nodes.filter((n) => q.vms.has(n))) {
            lost(node, `lives on ${node}, ${FATE_WHY[q.vms.get(node)!]}`);
          }
        }
      } catch (e) {
        unreadable.push({ cluster, why: (e as Error).message.split("\n")[0] });
      }
    }),
  );
  const order = (a: LostVolume, b: LostVolume) =>
    `${a.cluster}/${a.pv}`.localeCompare(`${b.cluster}/${b.pv}`);
  return {
    volumes: volumes.sort(order),
    unreadable: unreadable.sort((a, b) => a.cluster.localeCompare(b.cluster)),
  };
}

/** A removed VM's cluster comes from the records on the Mac, or every candidate when no record lists it. */
function queriesFor(
  departing: readonly string[],
  planned: PlannedLoss,
  config: LabConfig,
  env: NodeJS.ProcessEnv,
): Map<string, Query> {
  const queries = new Map<string, Query>();
  const at = (cluster: string) => {
    let q = queries.get(cluster);
    if (!q) queries.set(cluster, (q = { vms: new Map() }));
    return q;
  };
  for (const vm of departing) {
    const cluster = recordedClusterOf(vm, env);
    for (const c of cluster ? [cluster] : candidateClusters(config, env)) {
      at(c).vms.set(vm, "removes");
    }
  }
  for (const { vm, cluster } of planned.recloned) {
    at(cluster).vms.set(vm, "clones again");
  }
  for (const { cluster, why } of planned.rebuilt) at(cluster).rebuilt = why;
  return queries;
}

async function jenkinsWarnings(
  config: LabConfig,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<string[]> {
  const { cluster } = config.jenkins;
  const what = `Jenkins' home (PVC ${JENKINS_NAMESPACE}/${JENKINS_HOME_PVC} on cluster ${cluster})`;
  const cannotCheck = (why: string) => [
    `${NS}:jenkins.enabled is false: could not check whether ${what} exists (${why}); if Jenkins was deployed, ` +
      `this run deletes its data unless it was deployed with ${NS}:jenkins.retainData true`,
  ];
  let kc: k8s.KubeConfig | undefined;
  try {
    kc = client(cluster, env);
  } catch (e) {
    return cannotCheck((e as Error).message.split("\n")[0]);
  }
  if (!kc) return [];
  let pvc: k8s.V1PersistentVolumeClaim;
  try {
    pvc = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedPersistentVolumeClaim(
        { name: JENKINS_HOME_PVC, namespace: JENKINS_NAMESPACE },
        deadline(timeoutMs),
      );
  } catch (e) {
    if (e instanceof k8s.ApiException && e.code === 404) return [];
    return cannotCheck(apiError(e, timeoutMs));
  }
  const [key, value] = Object.entries(HELM_KEEP)[0];
  if (pvc.metadata?.annotations?.[key] === value) {
    return [
      `${NS}:jenkins.enabled is false: Jenkins is uninstalled but ${what} is kept (${key}: ${value}) with the ` +
        `${JENKINS_NAMESPACE} namespace; README "Changing a lab" says how to bring Jenkins back on it or delete it`,
    ];
  }
  return [
    `${NS}:jenkins.enabled is false: this run DELETES ${what} and the ${JENKINS_NAMESPACE} namespace, with every ` +
      `job and build record in it. To keep the data, first run pulumi up with ${NS}:jenkins.retainData true while ` +
      `Jenkins is still enabled, then disable it` +
      (config.jenkins.retainData
        ? ` (retainData is set, but the PVC does not carry ${key}: ${value} yet)`
        : ""),
  ];
}

/**
 * Refusals name the volume, its claim, the node and the switch; `tartlab:allowDataLoss` makes them warnings.
 */
export async function checkDataLoss(
  config: LabConfig,
  owner: string,
  opts: DataGuardOptions = {},
  planned: PlannedLoss = NO_PLANNED_LOSS,
): Promise<DataCheck> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const departing = departingVms(config, owner, env);
  const findings: string[] = [];
  const queries = queriesFor(departing, planned, config, env);
  if (queries.size > 0) {
    const { volumes, unreadable } = await lostVolumes(queries, env, timeoutMs);
    for (const v of volumes) {
      findings.push(`PersistentVolume ${v.pv} (claim ${v.claim}, cluster ${v.cluster}) ${v.why}`);
    }
    for (const u of unreadable) {
      const q = queries.get(u.cluster)!;
      const fates = [...new Set(q.vms.values())].sort().reverse().join(" or ");
      const what =
        q.rebuilt !== undefined
          ? `cluster ${u.cluster} holds local volumes, which this change builds anew (${q.rebuilt})`
          : `local volumes live on ${[...q.vms.keys()].join(", ")}, which this change ${fates}`;
      findings.push(`cannot tell whether ${what}: cluster ${u.cluster}: ${u.why}`);
    }
  }
  const warnings = config.jenkins.enabled ? [] : await jenkinsWarnings(config, env, timeoutMs);
  if (config.allowDataLoss) {
    return {
      departing,
      problems: [],
      warnings: [...findings.map((f) => `${f} (${NS}:allowDataLoss is true)`), ...warnings],
    };
  }
  const fix =
    findings.length === 0
      ? []
      : [
          `to go on: copy the data elsewhere (or keep the node), or accept the loss with ` +
            `pulumi config set ${NS}:allowDataLoss true for this one run (then pulumi config rm ${NS}:allowDataLoss)`,
        ];
  return { departing, problems: [...findings, ...fix], warnings };
}
