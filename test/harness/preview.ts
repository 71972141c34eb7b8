/**
 * Preview simulator: what `pulumi preview` / `pulumi up` would do to a stack deployed from program A when the
 * program (or its config) becomes B. Both programs run in-process under mocks (test/harness/pulumi.ts); every
 * registration of B is classified against A's stored state by the engine's rules, as the engine does, one
 * resource at a time and in registration order, so unknown outputs flow into dependents exactly as in a preview.
 * The rules and their upstream sources are in docs/plans.md.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { ClusterRecord, ClusterRecords } from "../../lib/cluster-record-format";
import type { DriftReport } from "../../lib/drift-report";
import {
  MAC_FACTS,
  bundleEnv,
  evaluate,
  unwrap,
  MockOptions,
  Recorder,
  Registration,
  isSecretValue,
  mockState,
  setStackConfig,
} from "./pulumi";

export type Op = "create" | "update" | "replace" | "delete" | "same";

/** A program: registers resources when called (under mocks, inside a stack). */
export type Program = () => unknown;

/** One resource as the engine stores it after `pulumi up`: its registration and the outputs the provider gave. */
export interface Stored {
  readonly urn: string;
  readonly reg: Registration;
  readonly id: string | undefined;
  readonly outputs: Record<string, unknown>;
}

/** A deployed stack: resources in registration order (a topological order, as in a snapshot). */
export interface State {
  readonly resources: ReadonlyMap<string, Stored>;
}

export interface Step {
  readonly urn: string;
  readonly name: string;
  readonly type: string;
  /**
   * Real infrastructure: a custom resource, or a provider-side component (helm v4 Chart, yaml/v2 ConfigFile) that
   * stands for the objects its provider creates (under mocks it has no children).
   */
  readonly infrastructure: boolean;
  readonly op: Op;
  /** Inputs that differ from the stored ones (unknown counts as different). */
  readonly changed: readonly string[];
  /** Why a replace happens: input keys, "provider" (its provider is replaced), "id" (`--replace`), "dependency". */
  readonly replaceKeys: readonly string[];
  /** Replace only: the old resource is deleted before the new one exists. */
  readonly deleteBeforeReplace: boolean;
  /** Replaced and deleted first because this delete-before-replace resource is replaced (engine cascade). */
  readonly cascadeOf?: string;
}

export class Plan {
  constructor(readonly steps: readonly Step[]) {}

  step(name: string): Step {
    const hits = this.steps.filter((s) => s.name === name);
    if (hits.length !== 1) throw new Error(`${hits.length} steps named ${name}`);
    return hits[0];
  }

  op(name: string): Op {
    return this.step(name).op;
  }

  /** Names of infrastructure resources with this op, sorted. */
  names(op: Op): string[] {
    return this.steps
      .filter((s) => s.infrastructure && s.op === op)
      .map((s) => s.name)
      .sort();
  }

  /** Every infrastructure resource that changes, by op (what `pulumi preview` lists). */
  summary(): Partial<Record<Exclude<Op, "same">, string[]>> {
    const out: Partial<Record<Exclude<Op, "same">, string[]>> = {};
    for (const op of ["create", "update", "replace", "delete"] as const) {
      const n = this.names(op);
      if (n.length > 0) out[op] = n;
    }
    return out;
  }
}

export interface PlanOptions {
  /**
   * "preview" (default): what `pulumi preview` shows. Outputs of created, updated and replaced resources are unknown.
   * "up": what `pulumi up` does when every step succeeds: they get the fake provider's outputs (`stdout`), and only
   * the delete-before-replace cascade is decided with unknowns (the engine decides it before anything runs).
   */
  readonly mode?: "preview" | "up";
  /** `pulumi up --replace`: names of resources replaced whatever their inputs. */
  readonly replace?: readonly string[];
  /** Fake stdout of resources in "up" mode (default: the same as when A was deployed). */
  readonly stdout?: MockOptions["stdout"];
}

/** The URN the mock monitor gives a registration (MockMonitor.newUrn: parent's last type, then the type). */
export function urnOf(r: Pick<Registration, "parentUrn" | "type" | "name">): string {
  const type = r.parentUrn ? `${r.parentUrn.split("::")[2].split("$").pop()}$${r.type}` : r.type;
  return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${type}::${r.name}`;
}

const providerUrn = (ref: string) => (ref ? ref.split("::").slice(0, -1).join("::") : "");
const isInfrastructure = (r: Registration) => r.custom || r.provider !== "";

const run = async (program: Program, opts: MockOptions): Promise<Recorder> =>
  (await evaluate(program, opts)).recorder;

/** `pulumi up` of a new stack: every resource created, with the fake provider's outputs. */
export async function deploy(program: Program, opts: Pick<MockOptions, "stdout"> = {}): Promise<State> {
  const answers = new Map<string, pulumi.runtime.MockResourceResult>();
  const rec = await run(program, {
    ...opts,
    newResource: (a, r) => {
      const res = mockState(a, opts);
      answers.set(urnOf(r), res);
      return res;
    },
  });
  const resources = new Map<string, Stored>();
  for (const reg of rec.registrations) {
    const urn = urnOf(reg);
    if (reg.urn !== urn) throw new Error(`URN model out of date: ${reg.urn} != ${urn}`);
    const res = answers.get(urn);
    resources.set(urn, { urn, reg, id: res?.id, outputs: res?.state ?? {} });
  }
  return { resources };
}

// ---------------------------------------------------------------------------------------------------------------
// Values: inputs compared as resolved values (secrets unwrapped), unknowns never equal to anything.

const UNKNOWN = Symbol("unknown");

function resolved(v: unknown): unknown {
  if (pulumi.isUnknown(v)) return UNKNOWN;
  if (isSecretValue(v)) return resolved((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(resolved);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, resolved(x)]));
  }
  return v;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === UNKNOWN || b === UNKNOWN) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => equal((a as any)[k], (b as any)[k]));
  }
  return a === b;
}

type Inputs = Record<string, unknown>;

function changedKeys(olds: Inputs, news: Inputs): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !equal(olds[k], news[k])).sort();
}

/**
 * Input keys whose change the provider itself answers with a replace (its schema's replaceOnChanges).
 * pulumi-command 1.2.1 `common/inputs.go`: `Triggers ... provider:"replaceOnChanges"`; every other Command input
 * is an in-place update (go-provider `infer` Diff). Types not listed here: only `replaceOnChanges` replaces.
 */
const SCHEMA_REPLACE_KEYS: Readonly<Record<string, readonly string[]>> = {
  "command:local:Command": ["triggers"],
  "command:remote:Command": ["triggers"],
};

const rootKey = (path: string) => path.split(/[.[]/)[0];

function replaceKeysOf(r: Registration, changed: readonly string[]): string[] {
  const roots = new Set([...r.options.replaceOnChanges.map(rootKey), ...(SCHEMA_REPLACE_KEYS[r.type] ?? [])]);
  return changed.filter((k) => roots.has("*") || roots.has(k));
}

export const K8S_PROVIDER = "pulumi:providers:kubernetes";

/** The cluster entry a kubeconfig's (or the provider's context/cluster override's) active context points at. */
function activeCluster(kubeconfig: unknown, context: unknown, cluster: unknown): unknown {
  if (typeof kubeconfig !== "string") return undefined;
  const doc = parse(kubeconfig);
  const ctxName = typeof context === "string" && context ? context : doc?.["current-context"];
  const ctx = (doc?.contexts ?? []).find((c: any) => c.name === ctxName)?.context;
  const clusterName = typeof cluster === "string" && cluster ? cluster : ctx?.cluster;
  return (doc?.clusters ?? []).find((c: any) => c.name === clusterName)?.cluster;
}

/**
 * pulumi-kubernetes `provider/pkg/provider/provider.go` DiffConfig: an unknown kubeconfig/context/cluster replaces
 * ("we make the conservative choice"); a known kubeconfig replaces when its active cluster changed; a changed
 * clusterIdentifier replaces; and a clusterIdentifier that has a value and is unchanged clears every replace.
 */
function kubernetesProviderReplaceKeys(olds: Inputs, news: Inputs, changed: readonly string[]): string[] {
  const ci = "clusterIdentifier";
  const replaces: string[] = [];
  if (ci in olds && ci in news && changed.includes(ci)) replaces.push(ci);
  const ciKeepsReplacesAway = !changed.includes(ci) && news[ci] !== undefined && news[ci] !== null;
  const unknownKey = ["kubeconfig", "context", "cluster"].find((k) => news[k] === UNKNOWN);
  if (unknownKey) replaces.push(unknownKey);
  else if (
    !equal(
      activeCluster(olds.kubeconfig, olds.context, olds.cluster),
      activeCluster(news.kubeconfig, news.context, news.cluster),
    )
  ) {
    replaces.push(...["kubeconfig", "context", "cluster"].filter((k) => changed.includes(k)));
  }
  return ciKeepsReplacesAway ? [] : replaces;
}

/** The provider's Diff: which changed keys force a replace. */
function diffReplaceKeys(r: Registration, olds: Inputs, news: Inputs, changed: readonly string[]): string[] {
  if (changed.length === 0) return [];
  return r.type === K8S_PROVIDER
    ? kubernetesProviderReplaceKeys(olds, news, changed)
    : replaceKeysOf(r, changed);
}

/**
 * pulumi/pulumi `pkg/resource/deploy/step_generator.go` calculateDependentReplacements: before a
 * delete-before-replace of `root`, every stored dependent whose provider is being replaced, or whose provider Diff
 * says "replace" once each input that depends (propertyDependencies) on a replaced resource is unknown, is
 * replaced too and deleted first. `dependsOn`-only edges never count. Resources already handled are skipped.
 */
function dependentReplacements(
  state: State,
  root: string,
  handled: ReadonlySet<string>,
): Map<string, string[]> {
  const replaceSet = new Set([root]);
  const out = new Map<string, string[]>();
  let after = false;
  for (const [urn, s] of state.resources) {
    if (urn === root) after = true;
    if (!after || urn === root || handled.has(urn) || !isInfrastructure(s.reg)) continue;
    // A provider-side component counts like the custom resources its provider would create under it.
    if (replaceSet.has(providerUrn(s.reg.provider))) {
      replaceSet.add(urn);
      out.set(urn, ["provider"]);
      continue;
    }
    if (!s.reg.custom) continue;
    const olds = resolved(s.reg.inputs) as Inputs;
    const news: Inputs = { ...olds };
    const unknown = Object.keys(olds).filter((k) =>
      (s.reg.propertyDependencyUrns[k] ?? []).some((d) => replaceSet.has(d)),
    );
    if (unknown.length === 0) continue;
    for (const k of unknown) news[k] = UNKNOWN;
    const keys = diffReplaceKeys(s.reg, olds, news, unknown);
    if (keys.length > 0) {
      replaceSet.add(urn);
      out.set(urn, keys);
    }
  }
  return out;
}

/** Outputs a provider reports in preview for a resource it creates or updates: inputs echoed, the rest unknown. */
function previewOutputs(inputs: Record<string, unknown>): Record<string, unknown> {
  return { ...inputs };
}

/**
 * What the engine would do to `old` when the program becomes `program`. Each registration is classified when it
 * arrives (as the engine does); its outputs are then the stored ones (same) or unknown/new ones (otherwise).
 */
export async function plan(old: State, program: Program, opts: PlanOptions = {}): Promise<Plan> {
  const mode = opts.mode ?? "preview";
  const replaceTargets = new Set(opts.replace ?? []);
  for (const name of replaceTargets) {
    if (![...old.resources.values()].some((s) => s.reg.name === name))
      throw new Error(`--replace ${name}: no such resource`);
  }
  const steps = new Map<string, Step>();
  const cascade = new Map<string, { root: string; keys: string[] }>();

  const classify = (r: Registration, urn: string): Step => {
    const base = { urn, name: r.name, type: r.type, infrastructure: isInfrastructure(r) };
    const stored = old.resources.get(urn);
    if (!stored) return { ...base, op: "create", changed: [], replaceKeys: [], deleteBeforeReplace: false };
    const olds = resolved(stored.reg.inputs) as Inputs;
    const news = resolved(r.inputs) as Inputs;
    const changed = changedKeys(olds, news);
    const dbr = r.options.deleteBeforeReplace;
    const hit = cascade.get(urn);
    if (hit) {
      return {
        ...base,
        op: "replace",
        changed,
        replaceKeys: hit.keys,
        deleteBeforeReplace: true,
        cascadeOf: hit.root,
      };
    }
    let replaceKeys: string[];
    if (replaceTargets.has(r.name)) replaceKeys = ["id"];
    else if (steps.get(providerUrn(r.provider))?.op === "replace") replaceKeys = ["provider"];
    else replaceKeys = r.custom ? diffReplaceKeys(r, olds, news, changed) : [];
    if (replaceKeys.length > 0) {
      if (dbr) {
        for (const [dep, keys] of dependentReplacements(old, urn, new Set(steps.keys()))) {
          if (!cascade.has(dep)) cascade.set(dep, { root: r.name, keys });
        }
      }
      return { ...base, op: "replace", changed, replaceKeys, deleteBeforeReplace: dbr };
    }
    const op: Op = changed.length > 0 ? "update" : "same";
    return { ...base, op, changed, replaceKeys: [], deleteBeforeReplace: false };
  };

  await run(program, {
    preview: mode === "preview",
    stdout: opts.stdout,
    newResource: (a, r) => {
      const urn = urnOf(r);
      const step = classify(r, urn);
      steps.set(urn, step);
      const stored = old.resources.get(urn);
      if (step.op === "same" && stored) return { id: stored.id, state: stored.outputs };
      if (mode === "up") return mockState(a, { stdout: opts.stdout });
      // go-provider infer (resource.go markComputed): in preview, outputs that mirror an input stay known, every
      // other output becomes unknown when any input changed; a create or replace has no id yet.
      return { id: step.op === "update" ? stored?.id : undefined, state: previewOutputs(a.inputs) };
    },
  });

  const all: Step[] = [...steps.values()];
  for (const [urn, s] of old.resources) {
    if (steps.has(urn)) continue;
    const base = { urn, name: s.reg.name, type: s.reg.type, infrastructure: isInfrastructure(s.reg) };
    all.push({ ...base, op: "delete", changed: [], replaceKeys: [], deleteBeforeReplace: false });
  }
  return new Plan(all);
}

/**
 * The general rule for a change to one VM: nothing outside that VM's own chain (its TartVm and K8sNode
 * children, `<vm>-…`, and its per-worker cluster steps, `<cluster>-<vm>-…`) and no kubernetes provider is replaced.
 * Returns the violations ("<name> replaced"), empty when the rule holds.
 */
export function singleVmViolations(p: Plan, vm: string, cluster: string): string[] {
  const own = (n: string) => n.startsWith(`${vm}-`) || n.startsWith(`${cluster}-${vm}-`);
  return p.steps
    .filter((s) => s.op === "replace" && (s.type === K8S_PROVIDER || !own(s.name)))
    .map((s) => `${s.name} replaced`)
    .sort();
}

// ---------------------------------------------------------------------------------------------------------------
// The lab (program.ts) as a Program.

/**
 * The lab for a stack config (as runLab evaluates it: host preflight with a Mac that fits, no revive), with the
 * clusters' version records on the Mac (mac/cluster-record.ts; `recordsOf(state)` = what a deployed state wrote)
 * and what the drift check found before the graph ran (none by default, as offline).
 */
export function labProgram(
  config: Record<string, unknown>,
  records: ClusterRecords = {},
  drift?: DriftReport,
): Program {
  return () => {
    setStackConfig(config);
    // Loaded when first run, and through require: a lab worker (below) has tsx's CommonJS hooks only.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { prepareLab, buildLab } = require("../../program") as typeof import("../../program");
    return buildLab({
      ...prepareLab({ hostFacts: () => MAC_FACTS, clusterRecords: () => records }),
      drift,
    });
  };
}

/** The version records a deployed lab wrote on the Mac: each `<cluster>-version-record` step's RECORD input. */
export function recordsOf(state: State): ClusterRecords {
  const out: Record<string, ClusterRecord> = {};
  for (const s of state.resources.values()) {
    if (!s.reg.name.endsWith("-version-record")) continue;
    const env = bundleEnv(unwrap(s.reg.inputs.stdin));
    out[env.CLUSTER_NAME] = JSON.parse(env.RECORD);
  }
  return out;
}

/**
 * What the drift check reports before the graph of a deployed lab whose VMs all run where their address steps
 * read them: every VM of the state at its address (mac/drift.ts; in preview too).
 */
export function foundIn(state: State): DriftReport {
  const addresses: Record<string, string> = {};
  for (const s of state.resources.values()) {
    if (s.reg.type === "command:local:Command" && s.reg.name.endsWith("-address") && s.outputs) {
      addresses[s.reg.name.slice(0, -"-address".length)] = String(s.outputs.stdout);
    }
  }
  return { addresses, repairs: {}, messages: [] };
}

/** Plan of changing a deployed lab from config A to config B (B defaults to A: use with `replace`). */
export async function labPlan(
  configA: Record<string, unknown>,
  configB: Record<string, unknown> = configA,
  opts: PlanOptions = {},
): Promise<Plan> {
  const state = await deploy(labProgram(configA));
  return plan(state, labProgram(configB, {}, foundIn(state)), opts);
}

// ---------------------------------------------------------------------------------------------------------------
// Lab deploys and plans in a worker thread. Under `node --test` every promise of the test process is tracked by the
// test runner's async hook, which doubles the cost of an evaluation (Pulumi makes many promises per resource); a
// worker thread has no such hook. One worker per test process (lab-worker.ts), evaluations one at a time.

/** A lab evaluation, as data (labProgram's arguments): it crosses to the worker. */
export interface LabSpec {
  readonly config: Record<string, unknown>;
  /** The clusters' version records on the Mac (`recordsOf(state)`); none by default, as for a new lab. */
  readonly records?: ClusterRecords;
  /** What the drift check found; none by default, as offline. */
  readonly drift?: DriftReport;
}

/** Fake stdout of these resources (every other one: defaultStdout), when a step runs in `up` or a deploy. */
export type StdoutOf = Readonly<Record<string, string>>;

/** PlanOptions for the worker: fake stdout as data. */
export type LabPlanOptions = Omit<PlanOptions, "stdout"> & { readonly stdout?: StdoutOf };

export type LabRequest =
  | { readonly kind: "deploy"; readonly spec: LabSpec; readonly stdout?: StdoutOf }
  | { readonly kind: "plan"; readonly state: State; readonly spec: LabSpec; readonly opts: LabPlanOptions };

let worker: Worker | undefined;
const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
let lastId = 0;

function labWorker(): Worker {
  if (worker) return worker;
  const entry = `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).register();
require(${JSON.stringify(path.join(__dirname, "lab-worker.ts"))});`;
  const w = new Worker(entry, { eval: true });
  const failAll = (e: Error) => {
    for (const p of waiting.values()) p.reject(e);
    waiting.clear();
    worker = undefined;
  };
  w.on("message", (m: { id: number; result?: unknown; error?: { message: string; stack?: string } }) => {
    const p = waiting.get(m.id)!;
    waiting.delete(m.id);
    // An idle worker must not keep the test process alive.
    if (waiting.size === 0) w.unref();
    if (m.error) p.reject(Object.assign(new Error(m.error.message), { stack: m.error.stack }));
    else p.resolve(m.result);
  });
  w.on("error", failAll);
  w.on("exit", (code) => failAll(new Error(`the lab worker exited (${code})`)));
  worker = w;
  return w;
}

function ask<T>(request: LabRequest): Promise<T> {
  const w = labWorker();
  w.ref();
  const id = ++lastId;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, request });
  });
}

/** `pulumi up` of a new lab (deploy(labProgram(…))), evaluated in the lab worker. */
export function deployLab(spec: LabSpec, stdout?: StdoutOf): Promise<State> {
  return ask<State>({ kind: "deploy", spec, stdout });
}

/** What the engine would do to `state` when the lab becomes `spec` (plan(state, labProgram(…))), in the worker. */
export async function planLab(state: State, spec: LabSpec, opts: LabPlanOptions = {}): Promise<Plan> {
  return new Plan(await ask<Step[]>({ kind: "plan", state, spec, opts }));
}
