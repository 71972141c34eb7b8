/**
 * The matrix of an interrupted `pulumi up` or `pulumi destroy`, run again, converging. What Pulumi does: a step
 * cut off (Ctrl-C, the Mac asleep, a killed process) is not recorded as done, so the next run runs its create (or
 * delete) script again, then the rest (pulumi-command: a create with no recorded result runs again; facts/pulumi.md
 * §1.2-1.3). Modelled here on fakes: one worker VM of the dev cluster, created (clone -> start -> address ->
 * identity -> prepare -> ready -> netcheck -> join-token -> join -> member) and deleted (member-remove -> stop ->
 * delete), each step with exactly the environment the program passes (decoded from the recorded bundles), on the
 * fake `tart` (the Mac), a fake control plane and a fake worker node sharing one fake API server state.
 *
 * For every step: (a) cut off after it finished but before Pulumi recorded it: it runs again, then the rest;
 * (b) cut off in its middle: its process group gets SIGKILL at a fake tool call (test/fakes/interrupt: before or
 * after the call's effect), then it runs again, then the rest. The end state must be exactly the uninterrupted
 * run's: the fake VMs (tart's state), the Mac's ~/.tartlab, both nodes' file trees (packages, holds, services) and
 * the API server's nodes. Volatile, and so compared by shape only: a VM process's pid and session id, a random MAC
 * ("random-<n>"), a generated machine-id (32 hex digits), generated SSH host keys (type and mode only) and random seed
 * (mode only).
 * Each variant starts from a snapshot of the uninterrupted run before the cut step (a fake VM that ran there runs:
 * its `tart run` goes on, or starts again); once the re-run step leaves exactly the uninterrupted run's state after
 * that step, the rest is the same run and is not repeated; otherwise the rest runs and the end states are compared.
 * Out of scope: scratch files under $TMPDIR that a SIGKILL leaves (address.sh, stop.sh: no trap runs; macOS and
 * reboots purge them; the runs here get a TMPDIR of their own) and the bootstrap token of a repeated join-token
 * step (it expires: TOKEN_TTL).
 *
 * The cases are split by script (partOf) across test/shell/interrupted-prepare.test.ts (k8s-node/prepare.sh) and
 * test/shell/interrupted-steps.test.ts (every other step), so that no file runs long; each file builds its own world
 * and makes its own uninterrupted run, and each case is a test of its own that a guard can select.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { Action } from "../../lib/shell";
import { FakeNode, fakeNode } from "./node";
import { FAKE_TOKEN, Recorder, defaultStdout, fakeIp, runLab } from "./pulumi";
import { FAKES_DIR, QUICK_MAC, Sandbox, SandboxState, ShellRun, sandbox } from "./shell";
import { envOf, ok } from "./steps";

const VM = "dev-worker1";

type Where = "mac" | "cp" | "worker";
interface Step {
  /** The Pulumi resource whose recorded stdin bundle gives the environment. */
  readonly resource: string;
  readonly where: Where;
  readonly script: string;
  readonly deleteScript?: string;
  readonly action: Action;
  /** What a re-run after the step had finished says (only where a script can know). */
  readonly resumes?: RegExp;
  /**
   * The calls also cut right before they run (default: every call; each call is cut right after it anyway). Only
   * where the script writes something of its own between two calls, for a long step: it keeps the run short.
   */
  readonly cutBefore?: RegExp;
}

const CREATE: readonly Step[] = [
  {
    resource: `${VM}-clone`,
    where: "mac",
    script: "tart-vm/clone.sh",
    deleteScript: "tart-vm/delete.sh",
    action: "create",
    resumes: /already exists and belongs to tartlab\/dev; keeping it/,
  },
  {
    resource: `${VM}-start`,
    where: "mac",
    script: "tart-vm/start.sh",
    deleteScript: "tart-vm/stop.sh",
    action: "create",
    resumes: /already running with this size and these run options/,
  },
  { resource: `${VM}-address`, where: "mac", script: "tart-vm/address.sh", action: "create" },
  { resource: `${VM}-identity`, where: "worker", script: "k8s-node/identity.sh", action: "create" },
  {
    resource: `${VM}-prepare`,
    where: "worker",
    script: "k8s-node/prepare.sh",
    action: "create",
    cutBefore: /^(sysctl --system|systemctl restart containerd)$/,
  },
  { resource: `${VM}-ready`, where: "worker", script: "k8s-node/verify.sh", action: "create" },
  {
    resource: `dev-${VM}-netcheck`,
    where: "worker",
    script: "kubeadm-cluster/netcheck.sh",
    action: "create",
  },
  {
    resource: `dev-${VM}-join-token`,
    where: "cp",
    script: "kubeadm-cluster/join-token.sh",
    action: "create",
  },
  {
    resource: `dev-${VM}-join`,
    where: "worker",
    script: "kubeadm-cluster/join.sh",
    action: "create",
    resumes: /has already joined this cluster; not joining again/,
  },
  {
    resource: `dev-${VM}-member`,
    where: "cp",
    script: "kubeadm-cluster/member-wait.sh",
    deleteScript: "kubeadm-cluster/member-remove.sh",
    action: "create",
  },
];

/** `pulumi destroy`: the steps with a delete script, in reverse dependency order. */
const DELETE: readonly Step[] = [
  {
    ...CREATE[9],
    action: "delete",
    resumes: /node dev-worker1 is not in the cluster; nothing to drain/,
  },
  { ...CREATE[1], action: "delete", resumes: /VM "dev-worker1" is stopped; nothing to stop/ },
  { ...CREATE[0], action: "delete", resumes: /VM "dev-worker1" is already gone/ },
];

/** A difference a cut may leave on purpose: an effect made at least once (by step, and the call cut after). */
const ACCEPTED: readonly { resource: string; after: RegExp; paths: RegExp }[] = [
  // The restart owed is made at least once: cut right after it, the re-run restarts containerd once more (its
  // configuration is the same; nothing runs on it yet).
  {
    resource: `${VM}-prepare`,
    after: /^systemctl restart containerd$/,
    paths: /^worker\/run\/fake-systemd\/containerd\.starts$/,
  },
  // Cut right after sshd was reloaded with the node's new host keys, before the once-marker: the re-run makes new
  // keys (compared by shape) and reloads sshd once more.
  {
    resource: `${VM}-identity`,
    after: /^systemctl try-reload-or-restart ssh$/,
    paths: /^worker\/run\/fake-systemd\/ssh\.starts$/,
  },
];

/** Cases that do not converge yet (none: join.sh's leftover join config is removed on its re-run). */
const KNOWN: readonly { resource: string; when: "before" | "after"; call: RegExp; todo: string }[] = [];

interface World {
  readonly mac: Sandbox;
  readonly cpSb: Sandbox;
  readonly workerSb: Sandbox;
  readonly cp: FakeNode;
  readonly worker: FakeNode;
  readonly cluster: string;
  /** Counter and process-group files of test/fakes/interrupt (not part of the compared state). */
  readonly control: string;
  readonly apiServer: string;
  rec?: Recorder;
}

interface Interrupt {
  readonly call: number;
  readonly when: "before" | "after";
}

const sandboxOf = (w: World, where: Where) => ({ mac: w.mac, cp: w.cpSb, worker: w.workerSb })[where];
const callCount = (sb: Sandbox) => sb.calls().length;

function processEnv(w: World, where: Where): Record<string, string> {
  // The Mac hands the worker the address the program's mocks gave it; its scripts look again after milliseconds.
  if (where === "mac") return { FAKE_TART_IP: fakeIp(VM), ...QUICK_MAC };
  // Every pause of the node scripts is an input: a look again or a retry comes after milliseconds.
  const knobs = {
    FAKE_CLUSTER: w.cluster,
    RETRY_PAUSE_SECONDS: "0",
    POLL_SECONDS: "0.01",
    NETCHECK_POLL_SECONDS: "0.01",
  };
  if (where === "cp") return { ...w.cp.processEnv, ...knobs };
  // The worker's kubeadm join gets the control plane's CA (cluster-info) and checks the pin in its config.
  const ca = path.join(w.cp.root, "etc/kubernetes/pki/ca.crt");
  return { ...w.worker.processEnv, ...knobs, FAKE_CLUSTER_CA: ca, FAKE_CLUSTER_CA_HASH: caHash(ca) };
}

/** sha256 of the CA's DER public key, as kubeadm's discovery-token-ca-cert-hash (and join-token.sh) has it. */
function caHash(file: string): string {
  const der = createPublicKey(readFileSync(file)).export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

async function runStep(w: World, step: Step, interrupt?: Interrupt): Promise<ShellRun> {
  const env = envOf(w.rec!, step.resource);
  // The one input not taken from the program: a fake node has no network address, so netcheck probes a
  // listener of this test for the control plane's API server.
  if (step.script === "kubeadm-cluster/netcheck.sh") env.API_SERVER = w.apiServer;
  const groupFile = path.join(w.control, "pgid");
  const counter = path.join(w.control, "count");
  rmSync(counter, { force: true });
  const knobs: Record<string, string> = interrupt
    ? {
        FAKE_INTERRUPT: path.join(FAKES_DIR, "interrupt"),
        FAKE_INTERRUPT_COUNT: counter,
        FAKE_INTERRUPT_CALL: String(interrupt.call),
        FAKE_INTERRUPT_WHEN: interrupt.when,
        FAKE_INTERRUPT_PGID: groupFile,
      }
    : {};
  return sandboxOf(w, step.where).run({
    script: step.script,
    deleteScript: step.deleteScript,
    action: step.action,
    env,
    // Scratch files a killed script leaves (its EXIT trap never runs) stay in this test's own directory.
    processEnv: { ...processEnv(w, step.where), TMPDIR: path.join(w.control, "tmp"), ...knobs },
    groupFile: interrupt ? groupFile : undefined,
  });
}

// ---- the state compared, and snapshots of it ----

const VOLATILE: [RegExp, (v: string) => string][] = [
  [/^tart\/[^/]+\/(pid|sid)$/, () => "<volatile>"],
  [/^tart\/[^/]+\/mac$/, (v) => v.replace(/^random-\d+$/m, "random-<n>")],
  [/^worker\/etc\/machine-id$/, (v) => v.replace(/^[0-9a-f]{32}$/m, "<generated>")],
  // The node's random seed (identity.sh): its mode must match, not its bytes.
  [/^worker\/var\/lib\/systemd\/random-seed$/, () => "<generated>"],
  // SSH host keys generated for the node (identity.sh): their type and mode must match, not their bits.
  [
    /^worker\/etc\/ssh\/ssh_host_[a-z0-9]+_key$/,
    (v) =>
      v.replace(
        /-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----/,
        "<generated>",
      ),
  ],
  [
    /^worker\/etc\/ssh\/ssh_host_[a-z0-9]+_key\.pub$/,
    (v) => v.replace(/^(\S+) [A-Za-z0-9+/=]+ /, "$1 <generated> "),
  ],
];

function tree(dir: string, prefix: string, out: Record<string, string>): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const rel = `${prefix}/${name}`;
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[rel] = "<dir>";
      tree(full, rel, out);
    } else {
      let text = readFileSync(full, "utf8");
      for (const [re, f] of VOLATILE) if (re.test(rel)) text = f(text);
      out[rel] = `${(st.mode & 0o777).toString(8)} ${text}`;
    }
  }
}

/** Everything the sequences can change: fake VMs, the Mac's home, both nodes, the API server's nodes. */
function endState(w: World): Record<string, string> {
  const out: Record<string, string> = {};
  tree(path.join(w.mac.dir, "tart"), "tart", out);
  tree(w.mac.home, "mac-home", out);
  tree(w.worker.root, "worker", out);
  tree(w.cp.root, "cp", out);
  tree(w.cluster, "cluster", out);
  return out;
}

function diff(want: Record<string, string>, got: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort();
  return keys
    .filter((k) => want[k] !== got[k])
    .map((k) => `${k}: ${JSON.stringify(want[k] ?? "<absent>")} -> ${JSON.stringify(got[k] ?? "<absent>")}`);
}

type Snapshot = SandboxState[];
const sandboxes = (w: World) => [w.mac, w.cpSb, w.workerSb];

const snapshot = (w: World): Snapshot => sandboxes(w).map((sb) => sb.save());

/** The world as in the snapshot (a fake VM that ran there runs: its `tart run` goes on, or starts again). */
async function restore(w: World, snap: Snapshot): Promise<void> {
  for (const [i, sb] of sandboxes(w).entries()) await sb.restore(snap[i]);
}

/**
 * A `tart run` that start.sh spawned just before the kill is in its own session and lives on: give it the moment
 * it needs to be running (as the Mac gives it before anyone runs pulumi up again). The fake `tart list` answers once
 * a started `tart run` has registered (test/fakes/tart), so one look is the moment.
 */
function settleVm(w: World): void {
  execFileSync(path.join(w.mac.bin, "tart"), ["list", "--source", "local", "--format", "json"], {
    env: {
      PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
      FAKE_CALLS: "/dev/null",
      FAKE_TART_HOME: path.join(w.mac.dir, "tart"),
    },
    stdio: "ignore",
  });
}

/**
 * A node's `ssh-keygen -A -f <root>` (identity.sh) copies real host keys the host's ssh-keygen made once into
 * `cache`: a new RSA key per run of identity.sh was a quarter of the matrix's time, and keys are compared by type
 * and mode only (VOLATILE). Like the host's, it writes only the key types that are missing.
 */
function cachedHostKeys(node: FakeNode, cache: string): void {
  const tool = path.join(node.root, "usr/bin/ssh-keygen");
  const real = readlinkSync(tool);
  rmSync(tool);
  const q = (s: string) => JSON.stringify(s);
  writeFileSync(
    tool,
    [
      "#!/usr/bin/env bash",
      "set -euo pipefail",
      `[ "$#" = 3 ] && [ "$1 $2" = "-A -f" ] || exec ${q(real)} "$@"`,
      `[ -d ${q(cache)}/etc/ssh ] || { mkdir -p ${q(cache)}/etc/ssh && ${q(real)} -A -f ${q(cache)}; }`,
      `for k in ${q(cache)}/etc/ssh/ssh_host_*; do`,
      `  [ -e "$3/etc/ssh/\${k##*/}" ] || cp -p "$k" "$3/etc/ssh/"`,
      "done",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
}

// ---- one world per test file, built once ----

/**
 * The dev cluster's control plane, prepared and initialised; a fresh worker node; no VM yet. What it makes is undone
 * by the functions it adds to `cleanup`, also when it fails halfway.
 */
async function makeWorld(cleanup: (() => void)[]): Promise<World> {
  const server = createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanup.push(() => server.close());
  const [mac, cpSb, workerSb] = [sandbox(), sandbox(), sandbox()];
  for (const sb of [mac, cpSb, workerSb]) cleanup.push(() => sb.dispose());
  mac.useFake("tart");
  mac.fake("softnet", "exit 0");
  const cp = fakeNode(cpSb, { hostname: "dev-master" });
  const worker = fakeNode(workerSb);
  const cluster = path.join(cpSb.dir, "fake-cluster");
  mkdirSync(path.join(cluster, "nodes"), { recursive: true });
  const control = mkdtempSync(path.join(tmpdir(), "tartlab-interrupt-"));
  cleanup.push(() => rmSync(control, { recursive: true, force: true }));
  mkdirSync(path.join(control, "tmp"));
  // The control plane's identity step makes the keys once; the worker's (run again in every case) copies them.
  for (const node of [cp, worker]) cachedHostKeys(node, path.join(control, "host-keys"));
  const w: World = {
    mac,
    cpSb,
    workerSb,
    cp,
    worker,
    cluster,
    control,
    apiServer: `127.0.0.1:${(server.address() as { port: number }).port}`,
  };
  // Each VM's name in its guest, as address.sh writes it through `tart exec` (the fake tart's guest tree and a fake
  // node's root are separate directories): what a bundle checks before it runs anything on a VM.
  for (const [node, vm] of [
    [cp, "dev-master"],
    [worker, VM],
  ] as const) {
    mkdirSync(path.join(node.root, "etc/tartlab"), { recursive: true });
    writeFileSync(path.join(node.root, "etc/tartlab/vm-name"), `${vm}\n`);
  }
  const first = (await runLab()).recorder;
  const cpEnv = { ...cp.processEnv, FAKE_CLUSTER: cluster };
  for (const [resource, script] of [
    ["dev-master-identity", "k8s-node/identity.sh"],
    ["dev-master-prepare", "k8s-node/prepare.sh"],
    ["dev-init", "kubeadm-cluster/init.sh"],
  ]) {
    ok(resource, await cpSb.run({ script, env: envOf(first, resource), processEnv: cpEnv }));
  }
  // The program as Pulumi runs it: the join-token step's real stdout (this control plane's CA) feeds the join.
  const token = `token ${FAKE_TOKEN}\ncaCertHash ${caHash(path.join(cp.root, "etc/kubernetes/pki/ca.crt"))}`;
  w.rec = (
    await runLab(undefined, { stdout: (n) => (n === `dev-${VM}-join-token` ? token : defaultStdout(n)) })
  ).recorder;
  return w;
}

interface Baseline {
  /** snaps[k]: the world before step k (snaps[steps.length]: after the last); states[k]: its state. */
  readonly snaps: Snapshot[];
  readonly states: Record<string, string>[];
  /** Fake tool calls each step made (the interrupt points). */
  readonly calls: string[][];
  readonly end: Record<string, string>;
}

async function baseline(w: World, steps: readonly Step[]): Promise<Baseline> {
  const snaps: Snapshot[] = [snapshot(w)];
  const states = [endState(w)];
  const calls: string[][] = [];
  for (const step of steps) {
    const sb = sandboxOf(w, step.where);
    const n = callCount(sb);
    ok(`${step.resource} ${step.action}`, await runStep(w, step));
    calls.push(sb.calls().slice(n));
    snaps.push(snapshot(w));
    states.push(endState(w));
  }
  return { snaps, states, calls, end: states[states.length - 1] };
}

/**
 * After step k ran again (it must succeed): the same state as the uninterrupted run's after step k means the
 * same rest (every step is a function of the state and its inputs), so the run is over; otherwise the rest runs
 * and the end state must be the uninterrupted one.
 */
async function converge(
  w: World,
  steps: readonly Step[],
  base: Baseline,
  k: number,
  says?: RegExp,
  accepted?: RegExp,
): Promise<void> {
  const r = await runStep(w, steps[k]);
  ok(`re-run of ${steps[k].resource} ${steps[k].action}`, r);
  if (says) assert.match(r.stderr, says, `${steps[k].resource} says what it resumed`);
  const differs = (want: Record<string, string>) =>
    diff(want, endState(w)).filter((d) => !accepted?.test(d.slice(0, d.indexOf(": "))));
  if (differs(base.states[k + 1]).length === 0) return;
  for (let j = k + 1; j < steps.length; j++) ok(`${steps[j].resource}`, await runStep(w, steps[j]));
  assert.deepEqual(differs(base.end), []);
}

/**
 * The interrupt points of a step: before and after each of its fake tool calls (a VM's own `tart run` process is
 * in its own session: never an interrupt point).
 */
function points(step: Step, calls: string[]): Interrupt[] {
  return calls
    .filter((c) => !c.startsWith("tart run "))
    .flatMap((c, i): Interrupt[] => [
      ...(step.cutBefore === undefined || step.cutBefore.test(c)
        ? [{ call: i + 1, when: "before" as const }]
        : []),
      { call: i + 1, when: "after" },
    ]);
}

/** Which file runs a step's cases (interrupted-<part>.test.ts in test/shell): every step's cases run in exactly one. */
export type Part = "prepare" | "steps";
const PARTS: readonly Part[] = ["prepare", "steps"];
// The node's preparation has a third of the cut points and the longest runs: the other steps share one world build.
const partOf = (step: Step): Part => (step.script === "k8s-node/prepare.sh" ? "prepare" : "steps");

/**
 * A case a mutation guard names (tools/guards-list.ts): its title ends with `says`, which the test file holds
 * literally, so the guard finds its name there and selects the one case.
 */
export interface Named {
  readonly resource: string;
  readonly when: "before" | "after";
  readonly call: RegExp;
  readonly says: string;
}

/** One test per case of the steps of `part` in `steps` (label: up or destroy); adds the notes it used to `used`. */
function cases(
  w: World,
  steps: readonly Step[],
  base: Baseline,
  label: string,
  part: Part,
  named: readonly Named[],
  used: Set<Named>,
): void {
  for (const [k, step] of steps.entries()) {
    if (partOf(step) !== part) continue;
    test(`${label}: ${step.resource} ${step.action} cut off after it finished, before it was recorded`, async () => {
      await restore(w, base.snaps[k + 1]);
      await converge(w, steps, base, k, step.resumes);
    });
    for (const p of points(step, base.calls[k])) {
      const at = base.calls[k].filter((c) => !c.startsWith("tart run "))[p.call - 1];
      const matches = (x: { resource: string }, when: string, call: RegExp) =>
        x.resource === step.resource && when === p.when && call.test(at);
      const known = KNOWN.find((x) => matches(x, x.when, x.call));
      const accept = ACCEPTED.find((x) => matches(x, "after", x.after));
      const note = named.find((x) => matches(x, x.when, x.call));
      if (note) used.add(note);
      const name = `${label}: ${step.resource} ${step.action} killed ${p.when} call ${p.call} (${at})`;
      test(note ? `${name}: ${note.says}` : name, { todo: known?.todo }, async () => {
        await restore(w, base.snaps[k]);
        const cut = await runStep(w, step, p);
        assert.notEqual(cut.code, 0, `the kill ${p.when} "${at}" ended ${step.resource}`);
        settleVm(w);
        await converge(w, steps, base, k, undefined, accept?.paths);
      });
    }
  }
}

/**
 * Registers in the calling `describe()` (whose callback awaits it) one test per case of `part`, each selectable by
 * its title (`--test-name-pattern`). The cases come from the calls the uninterrupted run made, so the world is
 * built and that run made first; `pulumi destroy`'s run only when `part` has a delete step.
 */
export async function interruptedCases(part: Part, named: readonly Named[] = []): Promise<void> {
  const cleanup: (() => void)[] = [];
  after(() => {
    for (const f of cleanup.reverse()) f();
  });
  test("every part of the matrix has its test file", () => {
    for (const p of PARTS)
      assert.ok(existsSync(path.join(__dirname, "..", "shell", `interrupted-${p}.test.ts`)), p);
  });
  const w = await makeWorld(cleanup);
  const create = await baseline(w, CREATE);
  test("the uninterrupted pulumi up: one running VM, joined and registered", () => {
    assert.equal(create.end["tart/dev-worker1/state"], "644 running\n");
    assert.ok(create.end[`cluster/nodes/${VM}/kubelet-version`]);
    assert.ok(create.end["worker/etc/kubernetes/kubelet.conf"]);
  });
  const used = new Set<Named>();
  // A guard's case that no longer exists would only show when the guard runs: say so here.
  test("every case named for a guard is in the matrix", () => {
    assert.deepEqual(
      named.filter((x) => !used.has(x)).map((x) => x.says),
      [],
    );
  });
  cases(w, CREATE, create, "up", part, named, used);
  if (!DELETE.some((s) => partOf(s) === part)) return;

  await restore(w, create.snaps[CREATE.length]);
  const destroy = await baseline(w, DELETE);
  test("the uninterrupted pulumi destroy: the VM and its node object are gone", () => {
    assert.equal(destroy.end["tart/dev-worker1/state"], undefined, "the VM is gone");
    assert.equal(destroy.end[`cluster/nodes/${VM}`], undefined, "the node object is gone");
  });
  cases(w, DELETE, destroy, "destroy", part, named, used);
}
