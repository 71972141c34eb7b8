/**
 * The lab's live status (`npm run status`; the dashboard reuses this model). Read-only:
 * every VM from Tart (state from `tart list --format json`, T08; IP from `tart ip`; cpus/memory from
 * `tart get --format json`), every cluster through @kubernetes/client-node with its per-cluster kubeconfig
 * (~/.tartlab/kube/<cluster>.yaml), Jenkins by an HTTP request to its NodePort URL.
 *
 * Probes run in parallel, each under a deadline, so a stopped VM, a VM without an IP or an API server that does
 * not answer is reported, never waited on. No credentials appear in the model: errors are summarised.
 */
import * as k8s from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { clusterKubeconfigPath, ownerOf } from "./home";
import { tartGet, tartIp, tartList } from "./tart";
import { contextName } from "../lib/kubeconfig";
import { LabConfig, NodeRole } from "../lib/lab-config";
import { MeshLink, MeshState, MeshStatus, meshPairs, meshReadiness } from "../lib/mesh-status";
import { SnapshotRow, formatSnapshotList } from "../lib/snapshot-manifest";

export type VmState = "running" | "stopped" | "suspended" | "absent" | "unknown";

export interface VmStatus {
  readonly name: string;
  readonly cluster: string;
  readonly role: NodeRole;
  readonly state: VmState;
  readonly ip?: string;
  readonly cpus?: number;
  readonly memoryMb?: number;
  /** The stack its owner marker records (`<project>/<stack>`); undefined when it has none or does not exist. */
  readonly owner?: string;
  readonly healthy: boolean;
  /** Why it is unhealthy, or notes (e.g. size differs from the config until the next `pulumi up`). */
  readonly problems: readonly string[];
  readonly notes: readonly string[];
}

export interface NodeStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly kubeletVersion: string;
}

export interface ClusterStatus {
  readonly name: string;
  /** Its kubectl context (`kubectl --context <context>`). */
  readonly context: string;
  /** The API server its kubeconfig names; undefined before the cluster exists. */
  readonly server?: string;
  readonly kubeconfig: string;
  readonly apiReachable: boolean;
  readonly serverVersion?: string;
  readonly nodes?: { readonly ready: number; readonly total: number; readonly items: readonly NodeStatus[] };
  readonly cilium?: { readonly ready: number; readonly desired: number };
  readonly defaultStorageClass?: string | null;
  readonly healthy: boolean;
  readonly problems: readonly string[];
}

export interface JenkinsStatus {
  readonly enabled: boolean;
  readonly cluster?: string;
  readonly url?: string;
  readonly httpStatus?: number;
  readonly healthy: boolean;
  readonly problems: readonly string[];
}

export interface LabStatus {
  readonly checkedAt: string;
  readonly healthy: boolean;
  /** False before the first `pulumi up`: none of the stack's VMs exists yet. */
  readonly created: boolean;
  readonly vms: readonly VmStatus[];
  readonly clusters: readonly ClusterStatus[];
  readonly jenkins: JenkinsStatus;
  /** Each pair of meshed clusters (`tartlab:clusterMesh`); absent when the mesh is off. */
  readonly mesh?: MeshStatus;
  /** The stack's snapshots (`tartlab snapshot list`); absent when the caller did not ask or they could not be read. */
  readonly snapshots?: readonly SnapshotRow[];
  /** Why the snapshots could not be read; not a lab problem, so it never makes the lab unhealthy. */
  readonly snapshotsProblem?: string;
}

export interface StatusOptions {
  /** Environment for `tart` (PATH, TART_HOME) and for finding ~/.tartlab (TARTLAB_HOME, HOME). */
  readonly env?: NodeJS.ProcessEnv;
  /** Deadline of each probe (one `tart` call, one API request, the Jenkins request). */
  readonly probeTimeoutMs?: number;
  /**
   * The abort signal of one API or Jenkins request, by its target (a cluster's name, or "jenkins"); by default a
   * timer of probeTimeoutMs. Tests pass their own, so a hung probe ends when the test says, not after a timer.
   */
  readonly probeSignal?: ProbeSignal;
  /** Lists the stack's snapshots (mac/snapshot.ts listSnapshots) within a probe's deadline; without it, none. */
  readonly snapshots?: (timeoutMs: number) => Promise<readonly SnapshotRow[]>;
}

type ProbeSignal = (target: string, timeoutMs: number) => AbortSignal;
const timerSignal: ProbeSignal = (_target, timeoutMs) => AbortSignal.timeout(timeoutMs);

const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function probeVms(config: LabConfig, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<VmStatus[]> {
  const specs = config.clusters.flatMap((c) => c.nodes.map((n) => ({ cluster: c.name, node: n })));
  let states: Map<string, string>;
  try {
    states = new Map((await tartList(env, timeoutMs)).map((v) => [v.Name, v.State]));
  } catch (e) {
    const reason = `cannot read Tart's VM list: ${why(e)}`;
    return specs.map(({ cluster, node }) => ({
      name: node.name,
      cluster,
      role: node.role,
      state: "unknown" as const,
      healthy: false,
      problems: [reason],
      notes: [],
    }));
  }
  return Promise.all(
    specs.map(async ({ cluster, node }): Promise<VmStatus> => {
      const base = { name: node.name, cluster, role: node.role };
      const raw = states.get(node.name);
      if (raw === undefined) {
        return {
          ...base,
          state: "absent",
          healthy: false,
          problems: ["not created (run pulumi up)"],
          notes: [],
        };
      }
      const state: VmState = raw === "running" || raw === "stopped" || raw === "suspended" ? raw : "unknown";
      const problems: string[] = [];
      const notes: string[] = [];
      if (state !== "running") problems.push(`is ${raw}; tartlab start starts it again`);
      // A stopped VM is not asked for its IP: Tart's dhcp resolver answers from the lease file even for a
      // stopped VM (Tart's Commands/IP.swift), which would show a stale address as if it were live.
      const [got, ip] = await Promise.all([
        tartGet(node.name, env, timeoutMs).then(
          ({ info, printed }) => {
            if (info) return info;
            notes.push(`tart get printed no JSON object: ${JSON.stringify(printed.trim().slice(0, 40))}`);
            return undefined;
          },
          (e) => {
            notes.push(`tart get: ${why(e)}`);
            return undefined;
          },
        ),
        state === "running"
          ? tartIp(node.name, env, timeoutMs).then(
              ({ ip, printed }) => {
                if (ip) return ip;
                problems.push(
                  `tart ip printed no IPv4 address (${JSON.stringify(printed.trim().slice(0, 40))})`,
                );
                return undefined;
              },
              (e) => {
                problems.push(`running but has no IP address (${why(e)})`);
                return undefined;
              },
            )
          : Promise.resolve(undefined),
      ]);
      const cpus = typeof got?.CPU === "number" ? got.CPU : undefined;
      const memoryMb = typeof got?.Memory === "number" ? got.Memory : undefined;
      if (cpus !== undefined && cpus !== node.cpus) notes.push(`${cpus} CPUs, config says ${node.cpus}`);
      if (memoryMb !== undefined && memoryMb !== node.memoryMb) {
        notes.push(`${memoryMb} MB memory, config says ${node.memoryMb}`);
      }
      const owner = ownerOf(node.name, env);
      return { ...base, state, ip, cpus, memoryMb, owner, healthy: problems.length === 0, problems, notes };
    }),
  );
}

/** Per-request deadline for client-node calls: the request is aborted, not just abandoned. */
export function deadline(timeoutMs: number, signal: AbortSignal = AbortSignal.timeout(timeoutMs)) {
  const middleware: k8s.ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(signal);
      return new k8s.Observable(Promise.resolve(ctx));
    },
    post: (rsp) => new k8s.Observable(Promise.resolve(rsp)),
  };
  return { middleware: [middleware] };
}

/** One line, no credentials: HTTP code for API errors, the transport reason otherwise. */
export function apiError(e: unknown, timeoutMs: number): string {
  if (e instanceof k8s.ApiException) return `HTTP ${e.code}`;
  const err = e as Error & { name?: string; type?: string };
  if (err?.name === "AbortError" || err?.type === "aborted") return `no answer in ${timeoutMs} ms`;
  return why(e).split("\n")[0];
}

const DEFAULT_SC_ANNOTATIONS = [
  "storageclass.kubernetes.io/is-default-class",
  "storageclass.beta.kubernetes.io/is-default-class",
];

/** The kvstoremesh container's metrics port, by the name the Cilium chart gives it. */
const MESH_METRICS_PORT_NAME = "kvmesh-metrics";

/**
 * How cluster `name` sees each peer, from its clustermesh-apiserver pods' KVStoreMesh metrics through the API server's
 * pod proxy: plain HTTP through the client, where an agent's own status would need an exec stream.
 */
async function probeMesh(
  name: string,
  peers: readonly string[],
  core: k8s.CoreV1Api,
  timeoutMs: number,
  limit: () => ReturnType<typeof deadline>,
): Promise<MeshLink[]> {
  const all = (state: MeshState, detail: string) => peers.map((to) => ({ from: name, to, state, detail }));
  const namespace = "kube-system";
  let pods: k8s.V1Pod[];
  try {
    pods = (
      await core.listNamespacedPod({ namespace, labelSelector: "k8s-app=clustermesh-apiserver" }, limit())
    ).items;
  } catch (e) {
    return all("unknown", `cannot list the clustermesh-apiserver pods: ${apiError(e, timeoutMs)}`);
  }
  if (pods.length === 0)
    return all("not connected", "no clustermesh-apiserver (ClusterMesh is not installed)");
  const running = pods.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp);
  if (running.length === 0) {
    const phases = pods.map((p) => `${p.metadata?.name} ${p.status?.phase ?? "?"}`).join(", ");
    return all("not connected", `no clustermesh-apiserver runs (${phases})`);
  }
  const reads = await Promise.all(
    running.map(async (p): Promise<Map<string, number> | string> => {
      const pod = p.metadata?.name ?? "?";
      const port = p.spec?.containers
        .flatMap((c) => c.ports ?? [])
        .find((x) => x.name === MESH_METRICS_PORT_NAME)?.containerPort;
      if (port === undefined) {
        return `pod ${pod} exports no KVStoreMesh metrics (chart: clustermesh.apiserver.metrics.kvstoremesh.enabled)`;
      }
      try {
        const text = await core.connectGetNamespacedPodProxyWithPath(
          { name: `${pod}:${port}`, namespace, path: "metrics" },
          limit(),
        );
        return meshReadiness(text);
      } catch (e) {
        return `cannot read the KVStoreMesh metrics of pod ${pod}: ${apiError(e, timeoutMs)}`;
      }
    }),
  );
  const views = reads.filter((r): r is Map<string, number> => typeof r !== "string");
  const failed = reads.filter((r): r is string => typeof r === "string");
  // Any pod's word is enough: with several replicas only the elected one connects.
  return peers.map((to): MeshLink => {
    if (views.some((v) => v.get(to) === 1)) return { from: name, to, state: "connected" };
    if (views.length === 0) return { from: name, to, state: "unknown", detail: failed.join("; ") };
    const known = views.some((v) => v.has(to));
    return {
      from: name,
      to,
      state: "not connected",
      detail: known ? "KVStoreMesh reports it not ready" : "KVStoreMesh does not list it",
    };
  });
}

interface ProbedCluster {
  readonly status: ClusterStatus;
  /** The cluster's view of each meshed peer (none when it is not meshed). */
  readonly links: readonly MeshLink[];
}

async function probeCluster(
  name: string,
  meshPeers: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  probeSignal: ProbeSignal,
): Promise<ProbedCluster> {
  const limit = () => deadline(timeoutMs, probeSignal(name, timeoutMs));
  const file = clusterKubeconfigPath(env, name);
  const unreachable = (problem: string, server?: string): ProbedCluster => ({
    status: {
      name,
      context: contextName(name),
      server,
      kubeconfig: file,
      apiReachable: false,
      healthy: false,
      problems: [problem],
    },
    links: meshPeers.map((to) => ({
      from: name,
      to,
      state: "unknown",
      detail: `cluster ${name} does not answer`,
    })),
  });
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(readFileSync(file, "utf8"));
    if (!kc.getCurrentCluster()) throw new Error("it has no current context");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return unreachable(
      err.code === "ENOENT"
        ? `no kubeconfig at ${file} (pulumi up writes it once the cluster exists)`
        : `kubeconfig ${file} is unusable: ${why(e).split("\n")[0]}`,
    );
  }
  let serverVersion: string;
  try {
    serverVersion = (await kc.makeApiClient(k8s.VersionApi).getCode({}, limit())).gitVersion;
  } catch (e) {
    const server = kc.getCurrentCluster()?.server;
    return unreachable(`API server ${server} does not answer: ${apiError(e, timeoutMs)}`, server);
  }
  const problems: string[] = [];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  const [nodes, cilium, defaultStorageClass, links] = await Promise.all([
    core.listNode({}, limit()).then(
      (list) => {
        const items = list.items.map((n) => ({
          name: n.metadata?.name ?? "?",
          ready: (n.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
          kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? "?",
        }));
        const ready = items.filter((n) => n.ready).length;
        for (const n of items) if (!n.ready) problems.push(`node ${n.name} is NotReady`);
        if (items.length === 0) problems.push("no nodes registered");
        return { ready, total: items.length, items };
      },
      (e) => {
        problems.push(`cannot list nodes: ${apiError(e, timeoutMs)}`);
        return undefined;
      },
    ),
    apps.readNamespacedDaemonSet({ name: "cilium", namespace: "kube-system" }, limit()).then(
      (ds) => {
        const desired = ds.status?.desiredNumberScheduled ?? 0;
        const ready = ds.status?.numberReady ?? 0;
        if (desired === 0 || ready < desired) problems.push(`Cilium agents ${ready}/${desired} ready`);
        return { ready, desired };
      },
      (e) => {
        problems.push(
          e instanceof k8s.ApiException && e.code === 404
            ? "Cilium is not installed (no DaemonSet kube-system/cilium)"
            : `cannot read the Cilium DaemonSet: ${apiError(e, timeoutMs)}`,
        );
        return undefined;
      },
    ),
    storage.listStorageClass({}, limit()).then(
      (list) => {
        const dflt = list.items.find((sc) =>
          DEFAULT_SC_ANNOTATIONS.some((a) => sc.metadata?.annotations?.[a] === "true"),
        );
        if (!dflt) problems.push("no default StorageClass (PVCs stay Pending)");
        return dflt?.metadata?.name ?? null;
      },
      (e) => {
        problems.push(`cannot list StorageClasses: ${apiError(e, timeoutMs)}`);
        return undefined;
      },
    ),
    meshPeers.length === 0 ? [] : probeMesh(name, meshPeers, core, timeoutMs, limit),
  ]);
  return {
    status: {
      name,
      context: contextName(name),
      server: kc.getCurrentCluster()?.server,
      kubeconfig: file,
      apiReachable: true,
      serverVersion,
      nodes,
      cilium,
      defaultStorageClass,
      healthy: problems.length === 0,
      problems,
    },
    links,
  };
}

async function probeJenkins(
  config: LabConfig,
  vms: readonly VmStatus[],
  timeoutMs: number,
  probeSignal: ProbeSignal,
): Promise<JenkinsStatus> {
  const { enabled, cluster, nodePort } = config.jenkins;
  if (!enabled) return { enabled: false, healthy: true, problems: [] };
  // The URL the program outputs: the Jenkins cluster's control plane IP and the NodePort (components/jenkins.ts).
  const cp = vms.find((v) => v.cluster === cluster && v.role === "control-plane");
  if (!cp?.ip) {
    return {
      enabled,
      cluster,
      healthy: false,
      problems: [`no URL: control plane ${cp?.name ?? "?"} has no IP`],
    };
  }
  const url = `http://${cp.ip}:${nodePort}`;
  try {
    const res = await fetch(`${url}/login`, {
      signal: probeSignal("jenkins", timeoutMs),
      redirect: "manual",
    });
    await res.body?.cancel();
    const ok = res.status < 500;
    return {
      enabled,
      cluster,
      url,
      httpStatus: res.status,
      healthy: ok,
      problems: ok ? [] : [`answers HTTP ${res.status}`],
    };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    const reason =
      err.name === "TimeoutError" || err.name === "AbortError"
        ? `no answer in ${timeoutMs} ms`
        : (err.cause?.code ?? err.message);
    return { enabled, cluster, url, healthy: false, problems: [`does not answer HTTP (${reason})`] };
  }
}

/** Reads the whole lab's status live. Never throws for an unhealthy lab; every probe is bounded. */
export async function collectStatus(config: LabConfig, opts: StatusOptions = {}): Promise<LabStatus> {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const signal = opts.probeSignal ?? timerSignal;
  const vmsP = probeVms(config, env, timeoutMs);
  const mesh = config.clusterMesh;
  const peersOf = (c: string) => (mesh.includes(c) ? mesh.filter((p) => p !== c) : []);
  const clustersP = Promise.all(
    config.clusters.map((c) => probeCluster(c.name, peersOf(c.name), env, timeoutMs, signal)),
  );
  // Snapshots are read beside the lab, and a failure to read them (no tart) only says so.
  const snapshotsP: Promise<Pick<LabStatus, "snapshots" | "snapshotsProblem">> = opts.snapshots
    ? opts.snapshots(timeoutMs).then(
        (snapshots) => ({ snapshots }),
        (e) => ({ snapshotsProblem: `cannot list snapshots: ${why(e)}` }),
      )
    : Promise.resolve({});
  const vms = await vmsP;
  const [probed, jenkins, snapshots] = await Promise.all([
    clustersP,
    probeJenkins(config, vms, timeoutMs, signal),
    snapshotsP,
  ]);
  const clusters = probed.map((p) => p.status);
  const meshStatus =
    mesh.length === 0
      ? undefined
      : meshPairs(
          mesh,
          probed.flatMap((p) => p.links),
        );
  return {
    checkedAt: new Date().toISOString(),
    healthy:
      vms.every((v) => v.healthy) &&
      clusters.every((c) => c.healthy) &&
      jenkins.healthy &&
      (meshStatus?.healthy ?? true),
    created: !vms.every((v) => v.state === "absent"),
    vms,
    clusters,
    jenkins,
    ...(meshStatus ? { mesh: meshStatus } : {}),
    ...snapshots,
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd(),
  );
}

const mark = (healthy: boolean) => (healthy ? "ok" : "FAIL");

/** The human-readable table printed by `npm run status`. */
export function formatStatus(s: LabStatus): string {
  const out: string[] = [];
  out.push("VMs");
  out.push(
    ...table([
      ["", "NAME", "CLUSTER", "STATE", "IP", "CPUS", "MEMORY", "PROBLEMS"],
      ...s.vms.map((v) => [
        mark(v.healthy),
        v.name,
        v.cluster,
        v.state,
        v.ip ?? "-",
        v.cpus === undefined ? "-" : String(v.cpus),
        v.memoryMb === undefined ? "-" : `${v.memoryMb} MB`,
        [...v.problems, ...v.notes].join("; "),
      ]),
    ]).map((l) => `  ${l}`),
  );
  out.push("", "Clusters");
  out.push(
    ...table([
      ["", "NAME", "API", "NODES READY", "VERSIONS", "CILIUM", "DEFAULT SC", "PROBLEMS"],
      ...s.clusters.map((c) => [
        mark(c.healthy),
        c.name,
        c.apiReachable ? `up ${c.serverVersion ?? ""}`.trim() : "DOWN",
        c.nodes ? `${c.nodes.ready}/${c.nodes.total}` : "-",
        c.nodes ? [...new Set(c.nodes.items.map((n) => n.kubeletVersion))].join(",") : "-",
        c.cilium ? `${c.cilium.ready}/${c.cilium.desired}` : "-",
        c.defaultStorageClass === undefined ? "-" : (c.defaultStorageClass ?? "none"),
        c.problems.join("; "),
      ]),
    ]).map((l) => `  ${l}`),
  );
  out.push("", "Jenkins");
  const j = s.jenkins;
  out.push(
    j.enabled
      ? `  ${mark(j.healthy)}  ${j.url ?? "-"}${j.httpStatus ? ` (HTTP ${j.httpStatus})` : ""}` +
          (j.problems.length ? `  ${j.problems.join("; ")}` : "")
      : "  disabled",
  );
  if (s.mesh) {
    out.push("", "ClusterMesh");
    out.push(
      ...table([
        ["", "PAIR", "STATE", "PROBLEMS"],
        ...s.mesh.pairs.map((p) => [
          mark(p.state === "connected"),
          `${p.clusters[0]} <-> ${p.clusters[1]}`,
          p.state,
          p.links
            .filter((l) => l.state !== "connected")
            .map((l) => `${l.from} -> ${l.to}: ${l.detail ?? l.state}`)
            .join("; "),
        ]),
      ]).map((l) => `  ${l}`),
    );
  }
  if (s.snapshots || s.snapshotsProblem) {
    const list = s.snapshots
      ? formatSnapshotList(s.snapshots, Date.parse(s.checkedAt))
      : `${s.snapshotsProblem}\n`;
    out.push(
      "",
      "Snapshots",
      ...list
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`),
    );
  }
  out.push(
    "",
    s.healthy ? "lab healthy" : s.created ? "lab NOT healthy" : "lab not created yet: run pulumi up",
  );
  return `${out.join("\n")}\n`;
}
