/**
 * Issue 10: data that a config change would delete. local-path volumes (T06) are directories on one node, bound to
 * it by the PersistentVolume's node affinity (`kubernetes.io/hostname In [<node>]`, local-path provisioner.go);
 * removing that node's VM deletes them, and Kubernetes keeps a PV that points nowhere (its pod stays Pending).
 * So before any resource changes:
 * - removing a VM that holds a volume is refused unless `tartlab:allowDataLoss` is true;
 * - disabling Jenkins warns that its home volume goes with it (unless `tartlab:jenkins.retainData` kept it).
 *
 * Which VMs go away: those whose owner marker (~/.tartlab/vms/<vm>.owner, written by scripts/tart-vm/clone.sh,
 * removed by delete.sh; lib/revive.ts reads the same) names this stack but that the config no longer lists. Which
 * volumes live on them: a live read of every PersistentVolume through each cluster's kubeconfig
 * (~/.tartlab/kube/<cluster>.yaml, V10), with the client and deadlines lib/status.ts uses. Reads happen only when
 * something is going away, so an unchanged lab previews offline. An API that does not answer cannot prove the data
 * safe: that refuses too (unless allowed), with the reason.
 */
import * as k8s from "@kubernetes/client-node";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { HELM_KEEP, JENKINS_HOME_PVC, JENKINS_NAMESPACE } from "../manifests/jenkins-values";
import { LabConfig, NS, allNodes } from "./lab-config";
import { apiError, clusterKubeconfigPath, deadline, tartlabHome } from "./status";

export interface DataGuardOptions {
  /** TARTLAB_HOME / HOME for the markers and kubeconfigs. */
  readonly env?: NodeJS.ProcessEnv;
  /** Deadline of each API request. */
  readonly timeoutMs?: number;
}

export interface DataCheck {
  /** This stack's VMs that the config no longer lists (they are deleted by this run). */
  readonly departing: readonly string[];
  /** Reasons to refuse the run; empty when it may go on. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The label local-path's PVs are pinned with (provisioner.go: `KeyNode = "kubernetes.io/hostname"`). */
const HOSTNAME_KEY = "kubernetes.io/hostname";

/** VMs this stack made (owner marker) that `config` does not list, sorted. */
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
    .filter((vm) => {
      try {
        return readFileSync(path.join(dir, `${vm}.owner`), "utf8").trim() === owner;
      } catch {
        return false;
      }
    })
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

/** Nodes a PV is pinned to by `kubernetes.io/hostname In [...]` (local-path's node affinity). */
export function pinnedNodes(pv: k8s.V1PersistentVolume): string[] {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.flatMap((t) =>
    (t.matchExpressions ?? [])
      .filter((e) => e.key === HOSTNAME_KEY && e.operator === "In")
      .flatMap((e) => e.values ?? []),
  );
}

interface VolumeOnDepartingVm {
  readonly cluster: string;
  readonly pv: string;
  readonly claim: string;
  readonly node: string;
}

/** Every PV of every candidate cluster pinned to a departing VM; clusters that could not be read, with why. */
async function volumesOn(
  departing: readonly string[],
  config: LabConfig,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ volumes: VolumeOnDepartingVm[]; unreadable: string[] }> {
  const gone = new Set(departing);
  const volumes: VolumeOnDepartingVm[] = [];
  const unreadable: string[] = [];
  await Promise.all(
    candidateClusters(config, env).map(async (cluster) => {
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
          for (const node of pinnedNodes(pv).filter((n) => gone.has(n))) {
            volumes.push({
              cluster,
              pv: pv.metadata?.name ?? "?",
              claim: ref ? `${ref.namespace}/${ref.name}` : "no claim",
              node,
            });
          }
        }
      } catch (e) {
        unreadable.push(`cluster ${cluster}: ${(e as Error).message.split("\n")[0]}`);
      }
    }),
  );
  const order = (a: VolumeOnDepartingVm, b: VolumeOnDepartingVm) =>
    `${a.cluster}/${a.pv}`.localeCompare(`${b.cluster}/${b.pv}`);
  return { volumes: volumes.sort(order), unreadable: unreadable.sort() };
}

/** Disabling Jenkins: what happens to its home PVC, read live; nothing when it was never deployed. */
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
 * The data preflight: what this config change would delete. Refusals (`problems`) name the volume, its claim, the
 * node and the switch; with `tartlab:allowDataLoss` they are warnings.
 */
export async function checkDataLoss(
  config: LabConfig,
  owner: string,
  opts: DataGuardOptions = {},
): Promise<DataCheck> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const departing = departingVms(config, owner, env);
  const findings: string[] = [];
  if (departing.length > 0) {
    const { volumes, unreadable } = await volumesOn(departing, config, env, timeoutMs);
    for (const v of volumes) {
      findings.push(
        `PersistentVolume ${v.pv} (claim ${v.claim}, cluster ${v.cluster}) lives on ${v.node}, which this ` +
          `change removes: its data is deleted with the VM`,
      );
    }
    for (const u of unreadable) {
      findings.push(
        `cannot tell whether local volumes live on ${departing.join(", ")}, which this change removes: ${u}`,
      );
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
