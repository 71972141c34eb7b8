/**
 * Evaluates Pulumi code in-process under mocks and records every registration as the engine receives it (the
 * tests' harness, tools/plan.ts, tools/bench.ts); it wraps the mock monitor's internal registerResource, so
 * @pulumi/pulumi is pinned exactly.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { HostFacts } from "../lib/host";

export const PROJECT = "tartlab";
export const STACK = "dev";

/**
 * Source-mapping the stack Pulumi keeps per promise costs half an evaluation under tsx, so the harness drops
 * it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself (an import is a copy)
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
  debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown>;
};
const pulumiDebuggablePromise = debuggable.debuggablePromise;
const withoutStack = (p: Promise<unknown>, ctx: unknown) => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return pulumiDebuggablePromise(p, ctx);
  } finally {
    Error.stackTraceLimit = limit;
  }
};
debuggable.debuggablePromise = withoutStack;

/** Whether Pulumi records a stack per promise, as it does outside the harness (off by default, see above). */
export function pulumiPromiseStacks(keep: boolean): void {
  debuggable.debuggablePromise = keep ? pulumiDebuggablePromise : withoutStack;
}

export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly urn: string;
  /** "" for the stack itself. */
  readonly parent: string;
  /** URN of the parent ("" for the stack): names are not unique across types (a TartVm and its K8sNode). */
  readonly parentUrn: string;
  /** Names of every resource this one depends on (explicit dependsOn, expanded, plus implicit Output deps). */
  readonly dependencies: string[];
  readonly propertyDependencies: Record<string, string[]>;
  /** `dependencies` and `propertyDependencies` as URNs (names are not unique across types). */
  readonly dependencyUrns: string[];
  readonly propertyDependencyUrns: Record<string, string[]>;
  /** Provider reference ("<urn>::<id>"), "" for the default provider. */
  readonly provider: string;
  readonly options: {
    readonly deleteBeforeReplace: boolean;
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
    readonly ignoreChanges: string[];
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
  };
  /** Inputs after serialization; secret values appear as { [SECRET_SIG]: …, value }. */
  readonly inputs: any;
}

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const isSecretValue = (v: any) => v !== null && typeof v === "object" && SECRET_SIG in v;
/** The plain value of a possibly secret-wrapped input. */
export const unwrap = (v: any) => (isSecretValue(v) ? v.value : v);
export const nameOfUrn = (urn: string) => urn.split("::").pop() ?? "";

export interface MockOptions {
  /** Preview mode: computed outputs (stdout, ids...) are unknown, as in a first `pulumi preview`. */
  readonly preview?: boolean;
  /** Stable fake stdout per resource (default: an IP for "-start" commands, a marker otherwise). */
  readonly stdout?: (name: string) => string;
  /** Replaces `mockState` (test/harness/preview.ts keeps or unknowns outputs per resource). */
  readonly newResource?: (
    args: pulumi.runtime.MockResourceArgs,
    rec: Registration,
  ) => pulumi.runtime.MockResourceResult;
}

export function fakeIp(name: string): string {
  // FNV-1a spreads the fixtures' VM names over distinct addresses, so a test can tell any two nodes apart.
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `192.168.64.${(h % 230) + 20}`;
}

/** A kubeadm admin.conf as the control plane prints it. */
export const FAKE_ADMIN_CONF = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0EK
    server: https://192.168.64.99:6443
  name: kubernetes
contexts:
- context: {cluster: kubernetes, user: kubernetes-admin}
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
users:
- name: kubernetes-admin
  user: {client-certificate-data: Q0VSVAo=, client-key-data: S0VZCg==}
`;
export const FAKE_PASSWORD = "fake-jenkins-password";
/** What the fake TLS provider gives for the ClusterMesh CA's key and certificate. */
export const FAKE_CA_KEY_PEM =
  "-----BEGIN EC PRIVATE KEY-----\nfake-mesh-ca-key\n-----END EC PRIVATE KEY-----\n";
export const FAKE_CA_CERT_PEM = "-----BEGIN CERTIFICATE-----\nfake-mesh-ca\n-----END CERTIFICATE-----\n";
export const FAKE_TOKEN = "abcdef.0123456789abcdef";
export const FAKE_CA_HASH = `sha256:${"ab".repeat(32)}`;
/** What a node's readiness step prints: its kubeadm's exact version (scripts/k8s-node/verify.sh). */
export const FAKE_KUBEADM_VERSION = "v1.35.2";

export function defaultStdout(name: string): string {
  if (name.endsWith("-start")) return fakeIp(name.slice(0, -"-start".length));
  if (name.endsWith("-address")) return fakeIp(name.slice(0, -"-address".length));
  if (name.endsWith("-kubeconfig")) return FAKE_ADMIN_CONF;
  if (name.endsWith("-ready") || name.endsWith("-upgrade")) return FAKE_KUBEADM_VERSION;
  if (name.endsWith("-join-token")) return `token ${FAKE_TOKEN}\ncaCertHash ${FAKE_CA_HASH}\n`;
  return `stdout-of-${name}`;
}

/** Where the drift check found the VM, as address.sh prints it right after the check. */
function foundAddress(a: pulumi.runtime.MockResourceArgs): string | undefined {
  if (!a.name.endsWith("-address") || typeof a.inputs.stdin !== "string") return undefined;
  return /^export FOUND_ADDRESS='([0-9.]+)'$/m.exec(a.inputs.stdin)?.[1];
}

/** The default fake provider: every input echoed back, plus a fake stdout (or password) per resource. */
export function mockState(
  a: pulumi.runtime.MockResourceArgs,
  opts: MockOptions = {},
): pulumi.runtime.MockResourceResult {
  return {
    id: opts.preview ? undefined : `${a.name}-id`,
    state: opts.preview
      ? {}
      : a.type === "random:index/randomPassword:RandomPassword"
        ? { ...a.inputs, result: FAKE_PASSWORD }
        : a.type === "tls:index/privateKey:PrivateKey"
          ? { ...a.inputs, privateKeyPem: FAKE_CA_KEY_PEM }
          : a.type === "tls:index/selfSignedCert:SelfSignedCert"
            ? { ...a.inputs, certPem: FAKE_CA_CERT_PEM }
            : {
                ...a.inputs,
                stdout: opts.stdout?.(a.name) ?? foundAddress(a) ?? defaultStdout(a.name),
                stderr: "",
              },
  };
}

export class Recorder {
  readonly registrations: Registration[] = [];
  private pending = 0;

  install(opts: MockOptions = {}): void {
    const hook = opts.newResource;
    pulumi.runtime.setMocks(
      {
        newResource: (a) => (hook ? hook(a, this.inFlight(a.type, a.name)) : mockState(a, opts)),
        call: (a) => {
          throw new Error(`unmocked invoke ${a.token}`);
        },
      },
      PROJECT,
      STACK,
      opts.preview ?? false,
    );
    const monitor: any = pulumi.runtime.getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, cb: any) => {
      const propertyDependencies: Record<string, string[]> = {};
      const propertyDependencyUrns: Record<string, string[]> = {};
      req.getPropertydependenciesMap().forEach((v: any, k: string) => {
        propertyDependencyUrns[k] = v.getUrnsList();
        propertyDependencies[k] = v.getUrnsList().map(nameOfUrn);
      });
      const rec: Registration = {
        type: req.getType(),
        name: req.getName(),
        custom: req.getCustom(),
        urn: "",
        parent: nameOfUrn(req.getParent()),
        parentUrn: req.getParent(),
        dependencies: req.getDependenciesList().map(nameOfUrn),
        propertyDependencies,
        dependencyUrns: req.getDependenciesList(),
        propertyDependencyUrns,
        provider: req.getProvider(),
        options: {
          deleteBeforeReplace: req.getDeletebeforereplace(),
          replaceOnChanges: req.getReplaceonchangesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          ignoreChanges: req.getIgnorechangesList(),
          protect: req.getProtect(),
          retainOnDelete: req.getRetainondelete(),
        },
        inputs: pulumi.runtime.deserializeProperties(req.getObject(), true),
      };
      this.registrations.push(rec);
      this.pending++;
      return original(req, (err: any, resp: any) => {
        (rec as { urn: string }).urn = resp?.getUrn?.() ?? "";
        this.pending--;
        cb(err, resp);
      });
    };
  }

  /** The registration the mock monitor is answering now (its URN is not assigned yet). */
  private inFlight(type: string, name: string): Registration {
    for (let i = this.registrations.length - 1; i >= 0; i--) {
      const r = this.registrations[i];
      if (r.type === type && r.name === name && r.urn === "") return r;
    }
    throw new Error(`no registration in flight for ${type} ${name}`);
  }

  /** Resolves once no registration is in flight for a few turns of the event loop. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 5;) {
      await new Promise((r) => setTimeout(r, 5));
      quiet = this.pending === 0 ? quiet + 1 : 0;
    }
  }

  byName(name: string): Registration {
    const r = this.registrations.find((x) => x.name === name);
    if (!r)
      throw new Error(`no resource named ${name}; have: ${this.registrations.map((x) => x.name).join(", ")}`);
    return r;
  }
  ofType(type: string): Registration[] {
    return this.registrations.filter((r) => r.type === type);
  }
}

function stackFileConfig(stack: string): Record<string, unknown> {
  const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
  return parse(readFileSync(file, "utf8")).config;
}

export function devStackConfig(): Record<string, unknown> {
  return stackFileConfig("dev");
}

/** The laptop lab: one cluster `small` with a control plane and one worker. */
export function smallStackConfig(): Record<string, unknown> {
  return stackFileConfig("small");
}

/** Pulumi.dev.yaml's config as the raw values lib/config.ts hands to validation (keys without "tartlab:"). */
export function devRawConfig(): Record<string, any> {
  return structuredClone(
    Object.fromEntries(Object.entries(devStackConfig()).map(([k, v]) => [k.replace(/^tartlab:/, ""), v])),
  );
}

/** Feeds stack config to the runtime as the CLI would: scalars as strings, structured values as JSON. */
export function setStackConfig(config: Record<string, unknown>, secretKeys: string[] = []): void {
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) all[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(all, secretKeys);
}

/** Host facts of a Mac that fits the default lab comfortably. */
export const MAC_FACTS: HostFacts = {
  os: "Darwin",
  arch: "arm64",
  macosVersion: "15.5",
  tart: "/opt/homebrew/bin/tart",
  tartVersion: "2.32.1",
  softnet: "/opt/homebrew/bin/softnet",
  softnetSuid: true,
  softnetRootOwned: true,
  passwordlessSudo: false,
  memoryBytes: 64 * 2 ** 30,
  cpus: 12,
  freeDiskBytes: 500e9,
};

export interface LabRun {
  readonly recorder: Recorder;
  readonly outputs: Record<string, unknown>;
}

export function startRecording(opts: MockOptions = {}): Recorder {
  const recorder = new Recorder();
  lastRecorder = recorder;
  recorder.install(opts);
  return recorder;
}

/** The recorder of the last evaluation (a program refused before it ran leaves it empty). */
export let lastRecorder: Recorder | undefined;

/** Runs `program` under the recorder's mocks and returns once every registration has been answered. */
export async function record(recorder: Recorder, program: () => unknown): Promise<LabRun> {
  let outputs: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    const out = await program();
    outputs = out && typeof out === "object" ? (out as Record<string, unknown>) : {};
    return outputs;
  });
  await recorder.settle();
  return { recorder, outputs };
}

export function evaluate(program: () => unknown, opts: MockOptions = {}): Promise<LabRun> {
  return record(startRecording(opts), program);
}

export interface LabOptions {
  readonly secretKeys?: string[];
  readonly hostFacts?: HostFacts | undefined;
  /** What the drift check found; none by default, as offline. */
  readonly drift?: import("../lib/drift-report").DriftReport;
}

/** Evaluates program.ts as index.ts does, from fresh mocks and config. */
export async function runLab(
  config: Record<string, unknown> = devStackConfig(),
  opts: MockOptions & LabOptions = {},
): Promise<LabRun> {
  const recorder = startRecording(opts);
  setStackConfig(config, opts.secretKeys);
  const { prepareLab, buildLab } = await import("../program");
  const facts = "hostFacts" in opts ? opts.hostFacts : MAC_FACTS;
  // prepareLab throws synchronously on bad config/host; runLab then rejects with nothing registered.
  const lab = prepareLab({ hostFacts: () => facts });
  return record(recorder, () => buildLab({ ...lab, drift: opts.drift }));
}

const shared = new Map<string, Promise<LabRun>>();

/** One frozen evaluation per config and options per test process, so no test can change it for the others. */
export function sharedLab(
  config: Record<string, unknown> = devStackConfig(),
  opts: Pick<MockOptions, "preview"> & LabOptions = {},
): Promise<LabRun> {
  // The program reads this switch from the environment (program.ts), so it is part of what was evaluated.
  const key = JSON.stringify([config, opts, "hostFacts" in opts, process.env.TARTLAB_FORGET_UNREACHABLE]);
  let run = shared.get(key);
  if (!run) {
    run = runLab(config, opts).then((r) => (deepFreeze(r.recorder.registrations), r));
    shared.set(key, run);
  }
  return run;
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== "object" || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

/** In registration order. */
export function childrenOf(rec: Recorder, component: Registration): Registration[] {
  return rec.registrations.filter((r) => r.parentUrn === component.urn);
}

export const providerName = (ref: string) => (ref ? nameOfUrn(ref.split("::").slice(0, -1).join("::")) : "");

/** Ordering edges of the recorded graph: dependencies plus the provider a resource is created through. */
export function edges(rec: Recorder): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const r of rec.registrations) {
    const s = new Set(r.dependencies);
    const p = providerName(r.provider);
    if (p) s.add(p);
    m.set(r.name, s);
  }
  return m;
}

/** Per recorder, what each resource (transitively) waits for; a recorder that registered more is recomputed. */
const waitsCache = new WeakMap<
  Recorder,
  { size: number; graph: Map<string, Set<string>>; waits: Map<string, Set<string>> }
>();

export function waitsFor(rec: Recorder, from: string): ReadonlySet<string> {
  let c = waitsCache.get(rec);
  if (!c || c.size !== rec.registrations.length) {
    c = { size: rec.registrations.length, graph: edges(rec), waits: new Map() };
    waitsCache.set(rec, c);
  }
  let seen = c.waits.get(from);
  if (!seen) {
    seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      for (const d of c.graph.get(stack.pop()!) ?? []) {
        if (!seen.has(d)) {
          seen.add(d);
          stack.push(d);
        }
      }
    }
    c.waits.set(from, seen);
  }
  return seen;
}

export function dependsOn(rec: Recorder, from: string, to: string): boolean {
  return waitsFor(rec, from).has(to);
}

/** The `export NAME='…'` inputs of a script bundle (lib/shell.ts), decoded. */
export function bundleEnv(stdin: string): Record<string, string> {
  const env: Record<string, string> = {};
  const re = /^export ([A-Z_][A-Z0-9_]*)=((?:'[^']*'|\\')*)\n/gm;
  const head = stdin.slice(0, stdin.indexOf('case "${1:-}" in'));
  for (const m of head.matchAll(re)) {
    env[m[1]] = m[2].replace(/'\\''/g, "'").replace(/^'|'$/g, "");
  }
  return env;
}
