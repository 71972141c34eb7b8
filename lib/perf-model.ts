/**
 * Performance model of a `pulumi up`: a duration per resource with its source, per scenario (golden image or
 * not; first build or rebuild), the critical path and the sequential sum. A figure measured by
 * test/e2e/mac-lab.e2e.ts (durations.json) wins over a published figure or an estimate.
 */

export type Build = "first" | "rebuild";
export interface Scenario {
  readonly golden: boolean;
  readonly build: Build;
}

export interface Figure {
  readonly seconds: number;
  readonly source: string;
}

interface StepFigures {
  readonly match: (name: string, type: string) => boolean;
  /** Per-node preparation (golden image off). */
  readonly perNode: Readonly<Record<Build, Figure>>;
  /** With the golden image on, where the step differs. */
  readonly golden?: Readonly<Record<Build, Figure>>;
}

const same = (f: Figure): Record<Build, Figure> => ({ first: f, rebuild: f });
const isCommand = (type: string) => type.startsWith("command:");
const suffix = (s: string) => (name: string, type: string) => isCommand(type) && name.endsWith(s);

/** Lima's kubeadm image pull ("takes about 100 seconds", RamenDR/ramen#1764). */
const KUBEADM_PULL = 100;
/**
 * kubeadm init with local images: the nearest published figure is kind/k3d/minikube's "Command Exec" of
 * 12.6–21.1 s (kubernetes/minikube site/content/en/docs/benchmarks/timeToK8s/v1.36.0).
 */
const KUBEADM_INIT = 21;
/** Base image download: ~1.6 GB compressed (estimate from `tart clone` "pulling disk (X GB compressed)"). */
const BASE_PULL: Figure = {
  seconds: 150,
  source:
    "estimate: ~1.6 GB compressed base image at ~100 Mbit/s; Tart serialises concurrent pulls of one image " +
    "(facts/tart.md, VMStorageOCI lock), so every clone waits for the one download",
};
const APFS_CLONE: Figure = {
  seconds: 3,
  source: "estimate: tart clone of a cached/local image is an APFS copy-on-write copy (facts/tart.md) + set",
};

/** First match wins, so rows go from the most specific. */
const STEP_FIGURES: readonly StepFigures[] = [
  {
    match: (name, type) => type === "command:local:Command" && /(^|-)golden-image(-[\d-]+)?$/.test(name),
    perNode: same({ seconds: 0, source: "not in the graph without the golden image" }),
    golden: {
      first: {
        seconds: BASE_PULL.seconds + 20 + 120 + KUBEADM_PULL + 120 + 30,
        source:
          "sum: base image pull + boot (estimates) + one node preparation + kubeadm image pull " +
          "(Lima ~100 s, facts/kubernetes.md A.3) + Cilium/local-path/Jenkins image pulls (estimate 120 s) + " +
          "clean and stop (estimate 30 s)",
      },
      rebuild: { seconds: 1, source: "estimate: the digest-named golden image exists; one `tart list`" },
    },
  },
  {
    match: suffix("-clone"),
    perNode: { first: BASE_PULL, rebuild: APFS_CLONE },
    golden: same({ ...APFS_CLONE, source: `${APFS_CLONE.source}; the golden image is a local VM` }),
  },
  {
    match: suffix("-start"),
    perNode: same({
      seconds: 25,
      source: "estimate: tart set + boot + DHCP lease through `tart ip --wait` (Orchard waits up to 60 s)",
    }),
  },
  {
    match: suffix("-identity"),
    perNode: same({ seconds: 5, source: "estimate: hostnamectl, machine-id, networkd reload over SSH" }),
  },
  {
    match: suffix("-prepare"),
    perNode: same({
      seconds: 120,
      source:
        "estimate: two apt updates + containerd and the pkgs.k8s.io packages per VM; Multipass+kubeadm takes " +
        "~6 min for 3 nodes in total (facts/kubernetes.md A.3)",
    }),
    golden: same({ seconds: 0, source: "baked into the golden image" }),
  },
  {
    match: suffix("-nodes-ready"),
    perNode: same({ seconds: 15, source: "estimate: nodes turn Ready once Cilium runs" }),
  },
  {
    match: suffix("-mesh-ready"),
    // The golden image does not pre-pull the clustermesh-apiserver: it is only needed with the mesh on.
    perNode: same({
      seconds: 60,
      source:
        "estimate: the clustermesh-apiserver image (etcd and KVStoreMesh in one pod) is pulled and started, " +
        "then every agent connects to every peer",
    }),
  },
  {
    match: suffix("-ready"),
    perNode: same({ seconds: 2, source: "estimate: tool checks over SSH" }),
  },
  {
    match: suffix("-init"),
    perNode: same({
      seconds: KUBEADM_PULL + KUBEADM_INIT,
      source:
        "published: Lima's kubeadm image pull ~100 s + kubeadm's 'Command Exec' ≤21.1 s (facts/kubernetes.md A.3)",
    }),
    golden: same({
      seconds: KUBEADM_INIT,
      source: "published: 'Command Exec' ≤21.1 s (facts/kubernetes.md A.3); images pre-pulled",
    }),
  },
  {
    match: suffix("-join"),
    perNode: same({
      seconds: 20,
      source: "estimate: kubeadm join (TLS bootstrap, kubelet start) + pause image pull",
    }),
    golden: same({ seconds: 15, source: "estimate: kubeadm join; pause image pre-pulled" }),
  },
  {
    match: suffix("-member"),
    perNode: same({ seconds: 5, source: "estimate: waits for the Node object" }),
  },
  {
    match: (_n, type) => type === "kubernetes:helm.sh/v3:Release" && _n.endsWith("-cilium"),
    perNode: same({
      seconds: 90,
      source: "estimate: every node pulls the Cilium agent and envoy (~250 MB) and the operator before Ready",
    }),
    golden: same({ seconds: 30, source: "estimate: Cilium pods start from pre-pulled images" }),
  },
  {
    match: (name, type) =>
      type === "kubernetes:apps/v1:Deployment" && name.endsWith("-local-path-provisioner"),
    perNode: same({ seconds: 15, source: "estimate: provisioner image pull (~20 MB) + rollout" }),
    golden: same({ seconds: 5, source: "estimate: rollout from a pre-pulled image" }),
  },
  {
    match: (name, type) => type === "kubernetes:helm.sh/v3:Release" && name.endsWith("-jenkins-release"),
    perNode: same({
      seconds: 240,
      source:
        "estimate: controller image (~500 MB) + sidecar pull, then the chart's init container downloads the " +
        "plugins from updates.jenkins.io, then the controller starts",
    }),
    golden: same({
      seconds: 150,
      source: "estimate: images pre-pulled; plugins are still downloaded by the chart's init container",
    }),
  },
  {
    match: (_n, type) => type.startsWith("tartlab:") || type.startsWith("pulumi:"),
    perNode: same({ seconds: 0, source: "component or provider: no work of its own" }),
  },
  {
    match: (_n, type) => type.startsWith("tls:"),
    perNode: same({ seconds: 0, source: "computed on the Mac by the tls provider: no VM or network work" }),
  },
  {
    match: (_n, type) => type.startsWith("kubernetes:") || type.startsWith("random:"),
    perNode: same({ seconds: 1, source: "estimate: one API call" }),
  },
  {
    match: (_n, type) => isCommand(type),
    perNode: same({ seconds: 2, source: "estimate: a short script (token, kubeconfig, netcheck)" }),
  },
];

export interface Measurements {
  readonly recordedAt: string;
  readonly machine: string;
  readonly scenario: Scenario;
  /** Keyed by the URN's last segment. */
  readonly resources: Readonly<Record<string, { readonly seconds: number; readonly type: string }>>;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A resource's own measurement, else its step kind's median: the e2e lab's names differ from the model's. */
function measuredFigure(name: string, type: string, measured: Measurements): Figure | undefined {
  const source = `measured by test/e2e/mac-lab.e2e.ts on ${measured.machine} (${measured.recordedAt})`;
  const own = measured.resources[name];
  if (own) return { seconds: own.seconds, source };
  const row = STEP_FIGURES.findIndex((r) => r.match(name, type));
  if (row < 0) return undefined;
  const same = Object.entries(measured.resources)
    .filter(([n, m]) => STEP_FIGURES.findIndex((r) => r.match(n, m.type)) === row)
    .map(([, m]) => m.seconds);
  if (same.length === 0) return undefined;
  return { seconds: median(same), source: `${source}, median of ${same.length} of this kind` };
}

export function figureFor(name: string, type: string, scenario: Scenario, measured?: Measurements): Figure {
  if (
    measured &&
    measured.scenario.golden === scenario.golden &&
    measured.scenario.build === scenario.build
  ) {
    const m = measuredFigure(name, type, measured);
    if (m) return m;
  }
  const row = STEP_FIGURES.find((r) => r.match(name, type));
  if (!row) return { seconds: 1, source: "estimate: no row for this resource type" };
  return (scenario.golden && row.golden ? row.golden : row.perNode)[scenario.build];
}

export interface Step {
  readonly name: string;
  readonly seconds: number;
  readonly deps: readonly string[];
}

/** The longest path through the steps weighted by their durations; ties go to the first found. */
export function criticalPath(steps: readonly Step[]): { path: string[]; seconds: number } {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const memo = new Map<string, { path: string[]; seconds: number }>();
  const visiting = new Set<string>();
  const visit = (name: string): { path: string[]; seconds: number } => {
    const hit = memo.get(name);
    if (hit) return hit;
    if (visiting.has(name)) throw new Error(`dependency cycle through ${name}`);
    visiting.add(name);
    const s = byName.get(name);
    let best = { path: [] as string[], seconds: 0 };
    for (const d of s?.deps ?? []) {
      const c = visit(d);
      if (c.seconds > best.seconds || (c.seconds === best.seconds && c.path.length > best.path.length))
        best = c;
    }
    visiting.delete(name);
    const r = { path: [...best.path, name], seconds: best.seconds + (s?.seconds ?? 0) };
    memo.set(name, r);
    return r;
  };
  let best = { path: [] as string[], seconds: 0 };
  for (const s of steps) {
    const c = visit(s.name);
    if (c.seconds > best.seconds) best = c;
  }
  return best;
}

export interface Estimate {
  readonly scenario: Scenario;
  readonly steps: readonly (Step & { readonly type: string; readonly source: string })[];
  readonly critical: { path: string[]; seconds: number };
  readonly sequentialSeconds: number;
}

export function estimate(
  graph: readonly { name: string; type: string; deps: readonly string[] }[],
  scenario: Scenario,
  measured?: Measurements,
): Estimate {
  const steps = graph.map((r) => {
    const f = figureFor(r.name, r.type, scenario, measured);
    return { name: r.name, type: r.type, deps: r.deps, seconds: f.seconds, source: f.source };
  });
  return {
    scenario,
    steps,
    critical: criticalPath(steps),
    sequentialSeconds: steps.reduce((a, s) => a + s.seconds, 0),
  };
}

export const minutes = (s: number) => `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;

/** The part of an Automation API engine event the duration recorder reads (@pulumi/pulumi/automation events). */
export interface StepEvent {
  readonly resourcePreEvent?: { readonly metadata: { readonly urn: string; readonly op: string } };
  readonly resOutputsEvent?: { readonly metadata: { readonly urn: string; readonly op: string } };
}

/** From resourcePreEvent to resOutputsEvent; "same" steps and components do no work and are left out. */
export function durationRecorder(now: () => number = () => Date.now() / 1000) {
  const started = new Map<string, number>();
  const resources: Record<string, { seconds: number; type: string }> = {};
  const nameOf = (urn: string) => urn.split("::").pop() ?? urn;
  // urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>
  const typeOf = (urn: string) => (urn.split("::")[2] ?? "").split("$").pop() ?? "";
  const custom = (urn: string) =>
    !/::tartlab:index:[A-Za-z]+::/.test(urn) && !urn.includes("::pulumi:pulumi:Stack::");
  return {
    onEvent(e: StepEvent): void {
      const pre = e.resourcePreEvent?.metadata;
      if (pre && pre.op !== "same" && custom(pre.urn)) started.set(pre.urn, now());
      const out = e.resOutputsEvent?.metadata;
      const t0 = out ? started.get(out.urn) : undefined;
      if (out && t0 !== undefined) {
        resources[nameOf(out.urn)] = { seconds: Math.round((now() - t0) * 10) / 10, type: typeOf(out.urn) };
        started.delete(out.urn);
      }
    },
    resources: (): Record<string, { seconds: number; type: string }> => ({ ...resources }),
  };
}

/** One phase of a snapshot save or restore (mac/snapshot.ts), for the whole lab. */
export interface SnapshotPhase {
  readonly phase: string;
  readonly seconds: number;
  readonly source: string;
}

/** Per-VM figures of the snapshot phases that have no row above; every one an estimate, with why. */
const SNAPSHOT_FIGURES = {
  gracefulStop: {
    seconds: 10,
    source:
      "estimate: guest poweroff of an Ubuntu kubeadm node (kubelet, containerd, etcd stop); stop.sh asks every VM " +
      "at once and forces it off after 60 s",
  },
  cloneLocal: {
    seconds: 1,
    source:
      "estimate: tart clone of a stopped local VM is a copy-on-write copy of its files (Clone.swift: APFS " +
      "'speeds up clones enormously', no space claimed until written), one VM at a time under Tart's global lock",
  },
  rename: {
    seconds: 0.2,
    source: "estimate: tart rename is one rename of the VM's directory (Rename.swift)",
  },
  delete: { seconds: 1, source: "estimate: tart delete removes the set-aside VM's directory" },
  ready: {
    seconds: 30,
    source:
      "estimate: after the last boot, kubelet starts the control plane's static pods from local images and the " +
      "Cilium agents return (the nodes-ready row's 15 s plus the API server's start)",
  },
  pulumiState: {
    seconds: 3,
    source: "estimate: pulumi stack export or import of a local-backend state file",
  },
} as const satisfies Record<string, Figure>;

/**
 * mac/snapshot.ts starts the VMs all at once; `parallelStart: false` models mac/revive.ts's one-by-one start.
 */
export function snapshotEstimate(
  op: "save" | "restore",
  vms: number,
  parallelStart = true,
): { phases: SnapshotPhase[]; seconds: number } {
  const F = SNAPSHOT_FIGURES;
  const start = figureFor("vm-start", "command:local:Command", { golden: true, build: "rebuild" });
  const per = (phase: string, f: Figure, n = vms): SnapshotPhase => ({
    phase: n === 1 ? phase : `${phase} (${n} × ${f.seconds} s)`,
    seconds: Math.round(n * f.seconds * 10) / 10,
    source: f.source,
  });
  const starting = parallelStart
    ? { phase: "start every VM at once", seconds: start.seconds, source: start.source }
    : per("start the VMs one after another", start);
  const phases: SnapshotPhase[] =
    op === "save"
      ? [
          { phase: "graceful stop (all VMs at once)", ...F.gracefulStop },
          per("clone each VM to its snapshot VM", F.cloneLocal),
          { phase: "pulumi stack export", ...F.pulumiState },
          starting,
          { phase: "wait for Ready", ...F.ready },
        ]
      : [
          { phase: "graceful stop (all VMs at once)", ...F.gracefulStop },
          per("set each VM aside (rename)", F.rename),
          per("clone each snapshot VM back, MAC written", F.cloneLocal),
          starting,
          { phase: "wait for Ready", ...F.ready },
          per("delete the set-aside VMs", F.delete),
          { phase: "pulumi stack import", ...F.pulumiState },
        ];
  return { phases, seconds: Math.round(phases.reduce((a, p) => a + p.seconds, 0) * 10) / 10 };
}
