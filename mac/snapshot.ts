/**
 * `tartlab snapshot save|restore|list|delete NAME`: the lab saved as stopped Tart clones (APFS copy-on-write)
 * and put back. Save stops every VM gracefully so etcd is cut at rest; restore writes each VM's saved MAC
 * into config.json because a clone of a local VM gets a new random MAC (Clone.swift), and deletes the
 * set-aside VMs only once the restored lab runs, so a failure before that leaves the lab as it was.
 */
import { execFile, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { LabConfig, allNodes } from "../lib/lab-config";
import { PowerOptions, startLab, stopLab } from "../mac/lab-power";
import {
  SnapshotManifest,
  SnapshotRow,
  SnapshotVm,
  backupMarker,
  backupVmName,
  configDiff,
  configDigest,
  diffKeys,
  nameProblem,
  parseManifest,
  parseSnapshotVmName,
  snapshotMarker,
  snapshotVmName,
} from "../lib/snapshot-manifest";
import { bundle, loadScript } from "../lib/shell";
import { tartlabHome } from "./home";
import { TartVm, tartList, withTartPath } from "./tart";
import { startEnv } from "./vm-scripts";

export interface SnapshotOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly dir: string;
  /** Stop and start: deadlines of mac/lab-power.ts (graceful stop, Ready wait, probe, poll pause). */
  readonly power?: PowerOptions;
  /** Deadline of one `tart` call (clone, rename, delete, list). */
  readonly tartTimeoutMs?: number;
  /** Deadline of one VM's start (scripts/tart-vm/start.sh: sizing, `tart run`, its address). */
  readonly startTimeoutMs?: number;
  readonly pulumiTimeoutMs?: number;
  /** save: replace a snapshot of that name. restore: go ahead although the lab's config differs. */
  readonly force?: boolean;
  readonly progress?: (line: string) => void;
  readonly now?: () => number;
}

export interface SnapshotResult {
  readonly ok: boolean;
  /** What happened, or what failed and what state the lab is in (with the commands to run when it is not usable). */
  readonly message: string;
}

interface Ctx {
  readonly env: NodeJS.ProcessEnv;
  readonly opts: SnapshotOptions;
  readonly say: (line: string) => void;
}

const ctxOf = (opts: SnapshotOptions): Ctx => ({
  env: withTartPath(opts.env ?? process.env),
  opts,
  say: opts.progress ?? (() => undefined),
});

/** Which snapshot a command works on: `name`, of the lab of `stack`, whose VMs' owner marker is `owner`. */
export interface SnapshotRef {
  readonly owner: string;
  readonly stack: string;
  readonly name: string;
}

/** Runs `command` on `snap` once its snapshot and stack names can be used in a VM's name; else says why not. */
async function checked(
  snap: SnapshotRef,
  opts: SnapshotOptions,
  command: (c: Ctx) => Promise<SnapshotResult>,
): Promise<SnapshotResult> {
  const bad = nameProblem("snapshot", snap.name) ?? nameProblem("stack", snap.stack);
  return bad ? { ok: false, message: bad } : command(ctxOf(opts));
}

interface Run {
  readonly ok: boolean;
  readonly stdout: string;
  readonly why: string;
  readonly absent?: boolean;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  cwd?: string,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env, cwd, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, stdout, why: "" });
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === "ENOENT")
          return resolve({ ok: false, stdout, why: `${cmd} is not on PATH`, absent: true });
        const why = e.killed
          ? `gave up after ${Math.round(timeoutMs / 1000)}s`
          : String(stderr).trim() || e.message;
        resolve({ ok: false, stdout, why });
      },
    );
  });
}

const tart = (c: Ctx, args: string[]) => run("tart", args, c.env, c.opts.tartTimeoutMs ?? 600_000);

/** One parser of `tart list --format json`, the Tart driver's. */
async function tartVms(c: Ctx): Promise<Map<string, TartVm>> {
  const list = await tartList(c.env, c.opts.tartTimeoutMs ?? 600_000).catch((e: Error) => {
    throw new Error(`tart list failed: ${e.message}`);
  });
  return new Map(list.map((v) => [v.Name, v]));
}

/** Where Tart keeps local VMs: TART_HOME, else ~/.tart (cirruslabs/tart Sources/tart/Config.swift). */
const tartVmsDir = (env: NodeJS.ProcessEnv) =>
  path.join(env.TART_HOME ?? path.join(env.HOME ?? "", ".tart"), "vms");

/** A VM's config.json: Tart keeps the MAC there under "macAddress" (VMConfig.swift CodingKeys, Tart 2.32.1). */
const configJson = (env: NodeJS.ProcessEnv, vm: string) => path.join(tartVmsDir(env), vm, "config.json");

function readMac(env: NodeJS.ProcessEnv, vm: string): string {
  const file = configJson(env, vm);
  const mac = (JSON.parse(readFileSync(file, "utf8")) as { macAddress?: unknown }).macAddress;
  if (typeof mac !== "string" || mac === "") throw new Error(`${file} has no macAddress`);
  return mac;
}

function writeMac(env: NodeJS.ProcessEnv, vm: string, mac: string): void {
  const file = configJson(env, vm);
  const config = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  config.macAddress = mac;
  writeFileSync(`${file}.tartlab`, `${JSON.stringify(config, null, 2)}\n`);
  renameSync(`${file}.tartlab`, file);
}

const markerPath = (env: NodeJS.ProcessEnv, vm: string) => path.join(tartlabHome(env), "vms", `${vm}.owner`);

function markerOf(env: NodeJS.ProcessEnv, vm: string): string | undefined {
  try {
    return readFileSync(markerPath(env, vm), "utf8").trim();
  } catch {
    return undefined;
  }
}

function mark(env: NodeJS.ProcessEnv, vm: string, content: string): void {
  mkdirSync(path.dirname(markerPath(env, vm)), { recursive: true });
  writeFileSync(markerPath(env, vm), `${content}\n`);
}

const unmark = (env: NodeJS.ProcessEnv, vm: string) => rmSync(markerPath(env, vm), { force: true });

const snapshotDir = (env: NodeJS.ProcessEnv, stack: string, name: string) =>
  path.join(tartlabHome(env), "snapshots", stack, name);

/** Writes a file only its owner can read (the manifest and the Pulumi state hold credentials), atomically. */
function writePrivate(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}

function recordPaths(config: LabConfig, env: NodeJS.ProcessEnv): string[] {
  const rel = [
    ...config.clusters.flatMap((c) => [`clusters/${c.name}.json`, `kube/${c.name}.yaml`]),
    ...allNodes(config).flatMap(({ node }) => ["ip", "source", "run"].map((x) => `vms/${node.name}.${x}`)),
  ];
  return rel.filter((r) => existsSync(path.join(tartlabHome(env), r)));
}

function readRecords(rels: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(rels.map((r) => [r, readFileSync(path.join(tartlabHome(env), r), "utf8")]));
}

function writeRecords(
  records: Record<string, string>,
  rels: readonly string[],
  env: NodeJS.ProcessEnv,
): void {
  for (const r of new Set([...rels, ...Object.keys(records)])) {
    const file = path.join(tartlabHome(env), r);
    if (records[r] === undefined) rmSync(file, { force: true });
    else {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, records[r], { mode: r.startsWith("kube/") ? 0o600 : 0o644 });
    }
  }
}

function readManifest(env: NodeJS.ProcessEnv, stack: string, name: string): SnapshotManifest | string {
  const file = path.join(snapshotDir(env, stack, name), "manifest.json");
  if (!existsSync(file)) {
    return `stack ${stack} has no snapshot ${name} (tartlab snapshot list --stack ${stack})`;
  }
  return parseManifest(readFileSync(file, "utf8"), file);
}

const lines = (items: readonly string[]) => items.map((l) => `  ${l}`).join("\n");

/**
 * Starts every VM at once with scripts/tart-vm/start.sh, as revive does one by one (a restore would wait for
 * each boot in turn), then waits with mac/lab-power.ts's start path, which retries any VM that did not start.
 */
async function startAll(c: Ctx, config: LabConfig, owner: string) {
  const states = await tartVms(c);
  const stopped = allNodes(config).filter(
    ({ node }) =>
      states.has(node.name) &&
      states.get(node.name)?.State !== "running" &&
      markerOf(c.env, node.name) === owner,
  );
  await Promise.all(
    stopped.map(
      ({ node }) =>
        new Promise<void>((resolve) => {
          const input = bundle(
            { create: loadScript("tart-vm/start.sh") },
            startEnv({
              ...node,
              softnetAllow: config.softnetAllow,
              ipWaitSeconds: config.ipWaitSeconds,
            }),
          );
          const child = spawn("bash", ["-s", "--", "create"], {
            env: c.env,
            stdio: ["pipe", "pipe", "pipe"],
            timeout: c.opts.startTimeoutMs ?? 600_000,
            killSignal: "SIGKILL",
          });
          let out = "";
          let err = "";
          child.stdout.on("data", (d) => (out += d));
          child.stderr.on("data", (d) => (err += d));
          child.on("error", (e) => (err += e.message));
          child.on("close", (code) => {
            const last = err.trim().split("\n").pop() ?? "";
            c.say(
              code === 0 ? `${node.name}  started at ${out.trim()}` : `${node.name}  did not start: ${last}`,
            );
            resolve();
          });
          child.stdin.end(input);
        }),
    ),
  );
  return startLab(config, owner, { ...c.opts.power, env: c.env });
}

/** Starts the lab again after a failed step; the message says whether it is usable. */
async function startAgain(c: Ctx, config: LabConfig, owner: string, what: string): Promise<SnapshotResult> {
  c.say("starting the lab again");
  const r = await startAll(c, config, owner);
  const vms = r.vms.map((v) => `${v.name}: ${v.action} ${v.detail}`);
  return {
    ok: false,
    message: r.ok
      ? `${what}\nThe lab was started again and is Ready, as it was.`
      : `${what}\nThe lab was started again but is not Ready:\n${lines(vms)}\n` +
        `Look at it with: tartlab status; start it with: tartlab start`,
  };
}

export const saveSnapshot = (config: LabConfig, snap: SnapshotRef, opts: SnapshotOptions) =>
  checked(snap, opts, (c) => save(c, config, snap));

async function save(c: Ctx, config: LabConfig, { owner, stack, name }: SnapshotRef): Promise<SnapshotResult> {
  const dir = snapshotDir(c.env, stack, name);
  const states = await tartVms(c);
  const nodes = allNodes(config);
  const problems: string[] = [];
  for (const { node } of nodes) {
    if (!states.has(node.name)) problems.push(`VM ${node.name} does not exist (run pulumi up first)`);
    else if (markerOf(c.env, node.name) !== owner) problems.push(`VM ${node.name} was not made by ${owner}`);
  }
  const existing = [...states.keys()].filter((n) => {
    const p = parseSnapshotVmName(n);
    return p?.stack === stack && p.snapshot === name;
  });
  for (const n of existing) {
    if (markerOf(c.env, n) !== snapshotMarker(owner))
      problems.push(`VM ${n} exists and is not a snapshot of ${owner}`);
  }
  if ((existing.length > 0 || existsSync(dir)) && !c.opts.force && problems.length === 0) {
    problems.push(`snapshot ${name} exists; delete it first or pass --force to replace it`);
  }
  if (problems.length > 0) return { ok: false, message: `nothing was changed:\n${lines(problems)}` };

  let macs: Map<string, string>;
  try {
    macs = new Map(nodes.map(({ node }) => [node.name, readMac(c.env, node.name)]));
  } catch (e) {
    return { ok: false, message: `nothing was changed: ${(e as Error).message}` };
  }
  const wasRunning = nodes.some(({ node }) => states.get(node.name)?.State === "running");

  c.say(`stopping ${nodes.length} VMs gracefully`);
  const stopped = await stopLab(config, owner, { ...c.opts.power, env: c.env });
  for (const v of stopped.vms) c.say(`${v.name}  ${v.action}  ${v.detail}`);
  if (!stopped.ok)
    return startAgain(c, config, owner, "save failed: a VM could not be stopped; no snapshot taken.");

  // A replaced snapshot goes once the lab is stopped, so that its VMs' MACs and names are free.
  for (const n of existing) {
    const d = await tart(c, ["delete", n]);
    if (!d.ok) return startAgain(c, config, owner, `save failed: could not delete the old ${n}: ${d.why}`);
    unmark(c.env, n);
  }
  rmSync(dir, { recursive: true, force: true });

  const made: string[] = [];
  const undo = async (why: string) => {
    for (const n of made) {
      await tart(c, ["delete", n]);
      unmark(c.env, n);
    }
    rmSync(dir, { recursive: true, force: true });
    return startAgain(
      c,
      config,
      owner,
      `save failed: ${why}; no snapshot taken (its partial clones were deleted` +
        `${existing.length > 0 ? "; the snapshot it was to replace was deleted before" : ""}).`,
    );
  };
  const createdAt = new Date((c.opts.now ?? Date.now)()).toISOString();
  const vms: SnapshotVm[] = [];
  for (const { cluster, node } of nodes) {
    const snap = snapshotVmName(stack, name, node.name);
    c.say(`${node.name}  cloning to ${snap}`);
    // Claimed before the clone: a run cut off right after it leaves a VM that delete recognises.
    mark(c.env, snap, snapshotMarker(owner));
    made.push(snap);
    const r = await tart(c, ["clone", node.name, snap]);
    if (!r.ok) return undo(`tart clone ${node.name} ${snap}: ${r.why}`);
    const ip = recordOf(c.env, `vms/${node.name}.ip`);
    vms.push({
      name: node.name,
      cluster: cluster.name,
      snapshotVm: snap,
      mac: macs.get(node.name) ?? "",
      ip,
    });
  }

  let pulumiState = false;
  const exported = await run(
    "pulumi",
    ["stack", "export", "--stack", stack],
    c.env,
    c.opts.pulumiTimeoutMs ?? 120_000,
    c.opts.dir,
  );
  if (exported.ok) {
    writePrivate(path.join(dir, "pulumi-state.json"), exported.stdout);
    pulumiState = true;
    c.say("saved the Pulumi state (pulumi stack export)");
  } else if (exported.absent) {
    c.say("pulumi is not on PATH: the Pulumi state is not saved (restore will not import it)");
  } else {
    return undo(
      `pulumi stack export --stack ${stack} failed (it needs the stack's backend, as pulumi up does): ${exported.why}`,
    );
  }

  const manifest: SnapshotManifest = {
    version: 1,
    name,
    stack,
    owner,
    createdAt,
    configDigest: configDigest(config),
    config,
    vms,
    records: readRecords(recordPaths(config, c.env), c.env),
    pulumiState,
  };
  writePrivate(path.join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  c.say(`wrote ${path.join(dir, "manifest.json")}`);

  if (!wasRunning)
    return {
      ok: true,
      message: `saved snapshot ${name} (${vms.length} VMs); the lab was stopped and stays stopped`,
    };
  c.say("starting the lab again");
  const started = await startAll(c, config, owner);
  for (const v of started.vms) c.say(`${v.name}  ${v.action}  ${v.detail}`);
  return started.ok
    ? { ok: true, message: `saved snapshot ${name} (${vms.length} VMs); the lab is Ready again` }
    : {
        ok: false,
        message:
          `saved snapshot ${name} (${vms.length} VMs), but the lab is not Ready again after the restart. ` +
          `Look at it with: tartlab status --stack ${stack}`,
      };
}

function recordOf(env: NodeJS.ProcessEnv, rel: string): string | undefined {
  try {
    return readFileSync(path.join(tartlabHome(env), rel), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Restores snapshot `snap.name` of `snap.stack`; `config` is the lab's config now (compared with the snapshot's). */
export const restoreSnapshot = (config: LabConfig, snap: SnapshotRef, opts: SnapshotOptions) =>
  checked(snap, opts, (c) => restore(c, config, snap));

async function restore(
  c: Ctx,
  config: LabConfig,
  { owner, stack, name }: SnapshotRef,
): Promise<SnapshotResult> {
  const m = readManifest(c.env, stack, name);
  if (typeof m === "string") return { ok: false, message: m };
  if (m.owner !== owner)
    return { ok: false, message: `snapshot ${name} was saved by ${m.owner}, not ${owner}` };
  const diff = configDiff(m.config, config);
  if (diff.length > 0 && !c.opts.force) {
    return {
      ok: false,
      message:
        `nothing was changed: the lab's config differs from snapshot ${name}'s in ${diffKeys(diff).join(", ")}:\n` +
        `${lines(diff)}\nRestore anyway with --force; pulumi up afterwards would reconcile the lab with the config.`,
    };
  }
  if (diff.length > 0)
    c.say(`the config differs in ${diffKeys(diff).join(", ")}; restoring anyway (--force)`);

  const states = await tartVms(c);
  const problems: string[] = [];
  for (const v of m.vms) {
    if (!states.has(v.snapshotVm)) problems.push(`snapshot VM ${v.snapshotVm} is missing`);
    else if (markerOf(c.env, v.snapshotVm) !== snapshotMarker(owner)) {
      problems.push(`VM ${v.snapshotVm} is not a snapshot of ${owner}`);
    }
    if (states.has(v.name) && markerOf(c.env, v.name) !== owner) {
      problems.push(`VM ${v.name} exists and was not made by ${owner}; it is left alone`);
    }
    const backup = backupVmName(stack, v.name);
    if (states.has(backup)) {
      problems.push(
        `VM ${backup} is left from an interrupted restore: it is ${v.name} as it was before that restore. ` +
          `Keep it: tart delete ${v.name}; tart rename ${backup} ${v.name}; rm ${markerPath(c.env, backup)}. ` +
          `Or drop it: tart delete ${backup}; rm ${markerPath(c.env, backup)}`,
      );
    }
  }
  if (problems.length > 0) return { ok: false, message: `nothing was changed:\n${lines(problems)}` };
  const lab = m.config; // the VMs and clusters restored are the snapshot's
  const present = m.vms.filter((v) => states.has(v.name));
  const rels = [...new Set([...recordPaths(lab, c.env), ...Object.keys(m.records)])];
  const before = readRecords(
    rels.filter((r) => existsSync(path.join(tartlabHome(c.env), r))),
    c.env,
  );

  c.say(`stopping ${present.length} VMs gracefully`);
  const stopped = await stopLab(lab, owner, { ...c.opts.power, env: c.env });
  for (const v of stopped.vms) c.say(`${v.name}  ${v.action}  ${v.detail}`);
  if (!stopped.ok)
    return startAgain(c, lab, owner, "restore failed: a VM could not be stopped; nothing was replaced.");

  const aside: SnapshotVm[] = [];
  const cloned: string[] = [];
  /** Puts the lab back as it was: restored clones deleted, set-aside VMs and records back, started. */
  const rollback = async (why: string): Promise<SnapshotResult> => {
    c.say(`restore failed (${why}); putting the lab back as it was`);
    const manual: string[] = [];
    for (const n of cloned) {
      const d = await tart(c, ["delete", n]);
      if (!d.ok) manual.push(`tart stop ${n}; tart delete ${n}`);
      else if (!aside.some((v) => v.name === n)) unmark(c.env, n); // it did not exist before the restore
    }
    for (const v of aside) {
      const backup = backupVmName(stack, v.name);
      const r = await tart(c, ["rename", backup, v.name]);
      if (r.ok) unmark(c.env, backup);
      else manual.push(`tart rename ${backup} ${v.name}`);
    }
    writeRecords(before, rels, c.env);
    if (manual.length > 0) {
      return {
        ok: false,
        message:
          `restore failed: ${why}. Putting the lab back failed too; run these, then tartlab start --stack ${stack}:\n` +
          lines(manual),
      };
    }
    return startAgain(c, lab, owner, `restore failed: ${why}.`);
  };

  for (const v of present) {
    const backup = backupVmName(stack, v.name);
    mark(c.env, backup, backupMarker(owner));
    const r = await tart(c, ["rename", v.name, backup]);
    if (!r.ok) {
      unmark(c.env, backup);
      return rollback(`tart rename ${v.name} ${backup}: ${r.why}`);
    }
    aside.push(v);
    c.say(`${v.name}  set aside as ${backup}`);
  }
  for (const v of m.vms) {
    c.say(`${v.name}  cloning from ${v.snapshotVm}`);
    // A failed clone leaves nothing under the new name: Tart copies into a temporary directory, then moves it.
    const r = await tart(c, ["clone", v.snapshotVm, v.name]);
    if (!r.ok) return rollback(`tart clone ${v.snapshotVm} ${v.name}: ${r.why}`);
    cloned.push(v.name);
    try {
      writeMac(c.env, v.name, v.mac);
    } catch (e) {
      return rollback(`could not bring back ${v.name}'s MAC ${v.mac}: ${(e as Error).message}`);
    }
    mark(c.env, v.name, owner);
    c.say(`${v.name}  MAC ${v.mac} brought back${v.ip ? ` (address ${v.ip})` : ""}`);
  }
  writeRecords(m.records, rels, c.env);

  c.say("starting the restored lab");
  const started = await startAll(c, lab, owner);
  for (const v of started.vms) c.say(`${v.name}  ${v.action}  ${v.detail}`);
  if (!started.ok) {
    c.say("stopping the restored VMs");
    await stopLab(lab, owner, { ...c.opts.power, env: c.env });
    return rollback("the restored lab did not become Ready");
  }
  const moved: string[] = [];
  for (const v of m.vms) {
    const ip = await tart(c, ["ip", v.name]);
    if (v.ip && ip.ok && ip.stdout.trim() !== v.ip) moved.push(`${v.name} ${v.ip} -> ${ip.stdout.trim()}`);
  }

  for (const v of aside) {
    const backup = backupVmName(stack, v.name);
    const d = await tart(c, ["delete", backup]);
    if (d.ok) unmark(c.env, backup);
    else c.say(`could not delete the set-aside ${backup} (${d.why}); delete it with: tart delete ${backup}`);
  }
  let pulumiNote = "";
  if (m.pulumiState) {
    const file = path.join(snapshotDir(c.env, stack, name), "pulumi-state.json");
    const imported = await run(
      "pulumi",
      ["stack", "import", "--stack", stack, "--file", file],
      c.env,
      c.opts.pulumiTimeoutMs ?? 120_000,
      c.opts.dir,
    );
    pulumiNote = imported.ok
      ? "; the Pulumi state was imported"
      : `; the Pulumi state was NOT imported (${imported.why}): run pulumi stack import --stack ${stack} --file ${file}`;
    if (!imported.ok) {
      return { ok: false, message: `restored snapshot ${name}: the lab is Ready${pulumiNote}` };
    }
  }
  const moveNote =
    moved.length > 0 ? `; addresses changed: ${moved.join(", ")} (pulumi up follows them)` : "";
  return {
    ok: true,
    message: `restored snapshot ${name} (${m.vms.length} VMs); the lab is Ready${pulumiNote}${moveNote}`,
  };
}

/** The snapshots of `stack`, with Tart's size of their VMs. */
export async function listSnapshots(stack: string, opts: SnapshotOptions): Promise<SnapshotRow[]> {
  const c = ctxOf(opts);
  const root = path.join(tartlabHome(c.env), "snapshots", stack);
  const states = await tartVms(c);
  // A save cut off before its manifest leaves snapshot VMs without one: listed, so that they can be deleted.
  const names = [
    ...new Set([
      ...(existsSync(root) ? readdirSync(root) : []),
      ...[...states.keys()].flatMap((n) => {
        const p = parseSnapshotVmName(n);
        return p?.stack === stack ? [p.snapshot] : [];
      }),
    ]),
  ].sort();
  const rows: SnapshotRow[] = [];
  for (const name of names) {
    const m = readManifest(c.env, stack, name);
    if (typeof m === "string") {
      rows.push({
        name,
        createdAt: "",
        vms: [...states.keys()].filter((n) => {
          const p = parseSnapshotVmName(n);
          return p?.stack === stack && p.snapshot === name;
        }).length,
        problems: [`no manifest (an interrupted save): tartlab snapshot delete ${name} --stack ${stack}`],
      });
      continue;
    }
    const missing = m.vms.filter((v) => !states.has(v.snapshotVm)).map((v) => v.snapshotVm);
    rows.push({
      name,
      createdAt: m.createdAt,
      vms: m.vms.length,
      sizeGb:
        missing.length > 0 ? undefined : m.vms.reduce((s, v) => s + (states.get(v.snapshotVm)?.Size ?? 0), 0),
      problems: missing.length > 0 ? [`missing VMs: ${missing.join(", ")}`] : [],
    });
  }
  return rows;
}

/** Deletes only the snapshot's VMs marked as this stack's, and its manifest. */
export const deleteSnapshot = (snap: SnapshotRef, opts: SnapshotOptions) =>
  checked(snap, opts, (c) => remove(c, snap));

async function remove(c: Ctx, { owner, stack, name }: SnapshotRef): Promise<SnapshotResult> {
  const dir = snapshotDir(c.env, stack, name);
  const states = await tartVms(c);
  const vms = [...states.keys()].filter((n) => {
    const p = parseSnapshotVmName(n);
    return p?.stack === stack && p.snapshot === name;
  });
  if (vms.length === 0 && !existsSync(dir)) {
    return { ok: false, message: `stack ${stack} has no snapshot ${name}` };
  }
  const left: string[] = [];
  for (const n of vms) {
    if (markerOf(c.env, n) !== snapshotMarker(owner)) {
      left.push(`${n}: not marked as a snapshot of ${owner}; left alone`);
      continue;
    }
    if (states.get(n)?.State === "running") await tart(c, ["stop", n]);
    const d = await tart(c, ["delete", n]);
    if (!d.ok) left.push(`${n}: tart delete failed: ${d.why}`);
    else {
      unmark(c.env, n);
      c.say(`${n}  deleted`);
    }
  }
  if (left.length > 0) return { ok: false, message: `snapshot ${name} not fully deleted:\n${lines(left)}` };
  rmSync(dir, { recursive: true, force: true });
  return { ok: true, message: `deleted snapshot ${name} (${vms.length} VMs)` };
}
