/**
 * `npm run test:guards`: runs the mutation guards of tools/guards-list.ts; each weakens one line an ordering
 * or safety guarantee rests on, and the test it names must then fail.
 *   --check               code, test file and test name of every guard still exist; runs nothing
 *   --changed             guards whose code, test or entry changed since tools/guards-passed.txt's commit
 *   --all                 every guard; records HEAD there when all are caught on a clean tree
 *   --discover [filter]   prints the tests each matching guard's mutation fails, to find a name
 *   <filter>              guards whose code file, test file or `what` contains it
 *   --jobs N              copies at once (default: os.availableParallelism())
 * Mutations run in temporary copies of the work tree, removed at the end, on failure and on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import * as path from "node:path";
import { GUARDS, type Guard } from "./guards-list";

const ROOT = path.join(__dirname, "..");
const LIST = "tools/guards-list.ts";
export const RECORD = "tools/guards-passed.txt";
const REPORTER = path.join(__dirname, "guards-reporter.mjs");
/** A mutation can make a test wait forever; such a run proves nothing and is reported as an error. */
const TIMEOUT_MS = 15 * 60_000;

// Static checks

type Read = (rel: string) => string | undefined;
const readRoot: Read = (rel) => {
  const f = path.join(ROOT, rel);
  return existsSync(f) ? readFileSync(f, "utf8") : undefined;
};

/** Why a guard's mutation cannot be applied any more (its code moved or its files are gone), if it cannot. */
export function codeProblem(g: Guard, read: Read): string | undefined {
  if (read(g.test) === undefined) return `test file ${g.test} does not exist`;
  const code = read(g.file);
  if (code === undefined) return `${g.file} does not exist`;
  if (!code.includes(g.from)) return `"${g.from}" not found in ${g.file}`;
  if (g.from === g.to) return "the mutation changes nothing";
  return undefined;
}

/** Why a guard's test name cannot select its test, if it cannot (a renamed test, a missing name). */
export function nameProblem(g: Guard, read: Read): string | undefined {
  if (!g.name?.trim()) return "it names no test (name)";
  const text = read(g.test);
  if (text !== undefined && !text.includes(g.name)) return `test name "${g.name}" not found in ${g.test}`;
  return undefined;
}

/** --test-name-pattern takes a regular expression; a name is matched literally. */
export function namePattern(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

// Reading a test run (tools/guards-reporter.mjs writes one JSON line per event)

interface ReporterEvent {
  kind: "start" | "pass" | "fail" | "stderr";
  name: string;
  nesting: number;
  skip?: boolean;
  todo?: boolean;
  suite?: boolean;
  error?: string;
}

/** The reporter's lines (a line cut off by a killed run is ignored). */
export function parseEvents(text: string): ReporterEvent[] {
  return text.split("\n").flatMap((line) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as ReporterEvent];
    } catch {
      return [];
    }
  });
}

export interface TestNode {
  readonly name: string;
  readonly parent: TestNode | undefined;
  status?: "pass" | "fail";
  skipped?: boolean;
  suite?: boolean;
  error?: string;
  hasFailedChild?: boolean;
}

/** The tests of one run with their ancestors (a test's result arrives after its children's, its start before). */
export function testTree(events: readonly ReporterEvent[]): TestNode[] {
  const stack: TestNode[] = [];
  const nodes: TestNode[] = [];
  for (const e of events) {
    if (e.kind === "stderr") continue;
    if (e.kind === "start") {
      stack.length = e.nesting;
      const node: TestNode = { name: e.name, parent: stack[e.nesting - 1] };
      stack.push(node);
      nodes.push(node);
      continue;
    }
    let node = stack[e.nesting];
    if (!node || node.name !== e.name || node.status) {
      node = { name: e.name, parent: stack[e.nesting - 1] };
      nodes.push(node);
    }
    node.status = e.kind;
    node.skipped = Boolean(e.skip || e.todo);
    node.suite = Boolean(e.suite);
    node.error = e.error;
    if (e.kind === "fail" && node.parent) node.parent.hasFailedChild = true;
  }
  return nodes;
}

export function titlePath(n: TestNode): string[] {
  return n.parent ? [...titlePath(n.parent), n.name] : [n.name];
}

/** The test Node 20's --test-name-pattern can select for `n`: the outermost test (not suite) on its path. */
export function selectable(n: TestNode): TestNode {
  let chosen = n;
  for (let p: TestNode | undefined = n; p; p = p.parent) if (!p.suite) chosen = p;
  return chosen;
}

export type Verdict =
  | { readonly kind: "caught"; readonly detail: string }
  | { readonly kind: "missed"; readonly detail: string }
  | { readonly kind: "error"; readonly detail: string };

/**
 * Caught when a test that ran under the name failed, missed when all such tests passed, and an error when
 * none ran (a renamed test, a subtest Node cannot select, a file that does not load), whatever the exit
 * status says.
 */
export function verdict(nodes: readonly TestNode[], name: string): Verdict {
  const named = nodes.filter(
    (n) => n.status && !n.skipped && !n.suite && titlePath(n).some((t) => t.includes(name)),
  );
  if (named.length === 0) {
    const failed = nodes.find((n) => n.status === "fail" && !n.skipped);
    const why = failed ? `; ${failed.name} failed: ${failed.error ?? "?"}` : "";
    return { kind: "error", detail: `no test titled like "${name}" ran (0 tests)${why}` };
  }
  const failed = named.filter((n) => n.status === "fail" && !n.hasFailedChild);
  if (failed.length > 0) {
    return { kind: "caught", detail: failed.map((n) => `"${titlePath(n).join(" > ")}"`).join(", ") };
  }
  return { kind: "missed", detail: `${named.length} test(s) titled like "${name}" ran and passed` };
}

// Which guards changed since the recorded commit

const entryKey = (g: Guard) => JSON.stringify([g.file, g.from, g.to, g.test, g.name]);

/** A changed code or test file reruns its guards, and a changed entry is a new guard to verify. */
export function changedGuards(
  guards: readonly Guard[],
  previous: readonly Guard[],
  changed: ReadonlySet<string>,
): { guard: Guard; why: string }[] {
  const before = new Set(previous.map(entryKey));
  return guards.flatMap((g) => {
    const why = [
      changed.has(g.file) ? `${g.file} changed` : undefined,
      changed.has(g.test) ? `${g.test} changed` : undefined,
      before.has(entryKey(g)) ? undefined : "new or changed entry",
    ].filter((w) => w !== undefined);
    return why.length > 0 ? [{ guard: g, why: why.join(", ") }] : [];
  });
}

function git(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("git", args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, out: r.stdout ?? "" };
}

export function parseRecord(text: string): { sha: string; date: string } | undefined {
  const m = /^([0-9a-f]{40})\s+(\S+)/m.exec(text);
  return m ? { sha: m[1], date: m[2] } : undefined;
}

/** The guard list of an older commit: the module is data only, so its transpiled text is evaluated as is. */
async function listAt(sha: string): Promise<readonly Guard[] | undefined> {
  const shown = git(["show", `${sha}:${LIST}`]);
  if (!shown.ok) return undefined;
  const ts = await import("typescript");
  const js = ts.transpileModule(shown.out, {
    compilerOptions: { module: ts.ModuleKind.CommonJS },
  }).outputText;
  const mod: { exports: { GUARDS?: readonly Guard[] } } = { exports: {} };
  const noImports = () => {
    throw new Error(`${LIST} must not import anything`);
  };
  try {
    new Function("module", "exports", "require", js)(mod, mod.exports, noImports);
  } catch (e) {
    console.log(`${LIST} at ${sha.slice(0, 12)} could not be read (${String(e)}): every entry counts as new`);
    return undefined;
  }
  return mod.exports.GUARDS;
}

async function selectChanged(): Promise<{ guards: readonly Guard[]; why: string }> {
  const text = readRoot(RECORD);
  const rec = text === undefined ? undefined : parseRecord(text);
  if (!rec) return { guards: GUARDS, why: `all guards: ${RECORD} records no commit at which all passed` };
  if (!git(["cat-file", "-e", `${rec.sha}^{commit}`]).ok) {
    return {
      guards: GUARDS,
      why: `all guards: ${rec.sha.slice(0, 12)} (${RECORD}, all guards passed ${rec.date}) is not in this clone's history (a shallow clone?)`,
    };
  }
  const diff = git(["diff", "--name-only", "--no-renames", rec.sha]);
  const untracked = git(["ls-files", "--others", "--exclude-standard"]);
  if (!diff.ok || !untracked.ok)
    return { guards: GUARDS, why: "all guards: git could not list the changed files" };
  const changed = new Set([...diff.out.split("\n"), ...untracked.out.split("\n")].filter(Boolean));
  const previous = await listAt(rec.sha);
  const picked = changedGuards(GUARDS, previous ?? [], changed);
  for (const p of picked) console.log(`  ${p.guard.what}: ${p.why}`);
  const since = `since ${rec.sha.slice(0, 12)} (all guards passed ${rec.date})`;
  const noList = previous === undefined ? `; no readable ${LIST} there, so every entry is new` : "";
  return { guards: picked.map((p) => p.guard), why: `${picked.length} guards changed ${since}${noList}` };
}

// Copies of the work tree and the test runs in them

interface Copy {
  readonly tree: string;
  readonly tmp: string;
  readonly events: string;
}

/** Temporary copies of the work tree, one per job, removed at exit (Ctrl-C included) with their test processes. */
class Copies {
  readonly base = mkdtempSync(path.join(tmpdir(), "tartlab-guards-"));
  private readonly children = new Set<ChildProcess>();
  private readonly copies: Copy[] = [];

  constructor() {
    process.on("exit", () => this.remove());
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(signal, () => {
        console.log(`\n${signal}: stopping the test runs and removing ${this.base}`);
        process.exit(130);
      });
    }
  }

  remove(): void {
    for (const c of this.children) kill(c);
    rmSync(this.base, { recursive: true, force: true });
  }

  /** Copy `i` of the work tree (made on first use): every file but .git, node_modules and what git ignores. */
  get(i: number): Copy {
    if (this.copies[i]) return this.copies[i];
    const dir = path.join(this.base, `copy${i + 1}`);
    const copy = {
      tree: path.join(dir, "tree"),
      tmp: path.join(dir, "tmp"),
      events: path.join(dir, "events.jsonl"),
    };
    const ignored = new Set(
      git(["ls-files", "--others", "--ignored", "--exclude-standard", "--directory"])
        .out.split("\n")
        .filter(Boolean)
        .map((p) => p.replace(/\/$/, "")),
    );
    cpSync(ROOT, copy.tree, {
      recursive: true,
      filter: (src) => {
        const rel = path.relative(ROOT, src);
        return rel !== ".git" && rel !== "node_modules" && !ignored.has(rel);
      },
    });
    symlinkSync(realpathSync(path.join(ROOT, "node_modules")), path.join(copy.tree, "node_modules"));
    // The fetched Cilium chart and the built Helm are ignored by git but read by tests: linked like node_modules.
    for (const dir of [".cilium-chart", ".tools"]) {
      if (existsSync(path.join(ROOT, dir)))
        symlinkSync(realpathSync(path.join(ROOT, dir)), path.join(copy.tree, dir));
    }
    mkdirSync(copy.tmp);
    this.copies[i] = copy;
    return copy;
  }

  /** Runs one test file in a copy (only the tests matching `pattern`, if given) and returns its test tree. */
  async runTest(
    copy: Copy,
    testFile: string,
    pattern: string | undefined,
  ): Promise<{ nodes: TestNode[]; timedOut: boolean; stderr: string }> {
    // Each run starts with an empty TMPDIR (a failing test may leave its sandbox), keeping tsx's transform cache.
    for (const f of readdirSync(copy.tmp)) {
      if (!/^tsx-\d+$/.test(f)) rmSync(path.join(copy.tmp, f), { recursive: true, force: true });
    }
    rmSync(copy.events, { force: true });
    const args = ["--import", "tsx", "--test", `--test-reporter=${REPORTER}`];
    args.push(`--test-reporter-destination=${copy.events}`);
    if (pattern !== undefined) args.push(`--test-name-pattern=${pattern}`);
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: copy.tmp };
    delete env.NODE_TEST_CONTEXT; // set when this runs under node:test; the child must report as a root run
    // Its own process group, so a timeout or Ctrl-C ends the test's helpers (bash, fakes) with it.
    const child = spawn(process.execPath, [...args, testFile], {
      cwd: copy.tree,
      env,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.children.add(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill(child);
    }, TIMEOUT_MS);
    await new Promise<void>((resolve) => child.on("close", () => resolve()));
    clearTimeout(timer);
    this.children.delete(child);
    const events = parseEvents(existsSync(copy.events) ? readFileSync(copy.events, "utf8") : "");
    const testStderr = events.flatMap((e) => (e.kind === "stderr" && e.error ? [e.error] : [])).join("");
    return { nodes: testTree(events), timedOut, stderr: testStderr + stderr };
  }

  async mutated<T>(copy: Copy, g: Guard, run: () => Promise<T>): Promise<T> {
    const file = path.join(copy.tree, g.file);
    const original = readFileSync(file, "utf8");
    writeFileSync(
      file,
      original.replace(g.from, () => g.to),
    );
    try {
      return await run();
    } finally {
      writeFileSync(file, original);
    }
  }
}

function kill(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

async function pool<T>(items: readonly T[], jobs: number, work: (item: T, copy: number) => Promise<void>) {
  let next = 0;
  const worker = async (copy: number) => {
    while (next < items.length) await work(items[next++], copy);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, (_, i) => worker(i)));
}

/** The first error of a test process's stderr and the two lines after it (why a file did not load), else its end. */
function stderrGist(text: string): string {
  const lines = text.split("\n").filter((l) => l.trim());
  const at = lines.findIndex((l) => /^\w*Error\b|^Error \[/.test(l));
  return (at >= 0 ? lines.slice(at, at + 3) : lines.slice(-3)).map((l) => l.trim()).join(" | ");
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const duration = (ms: number) =>
  `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}s`;
const where = (g: Guard) => `${g.file} -> ${g.test} "${g.name}"`;

async function runGuards(guards: readonly Guard[], jobs: number): Promise<number> {
  const copies = new Copies();
  const started = Date.now();
  let missed = 0;
  let errors = 0;
  console.log(
    `${guards.length} guards in ${Math.min(jobs, guards.length)} copies of the work tree (${copies.base})`,
  );
  try {
    await pool(guards, jobs, async (g, i) => {
      const copy = copies.get(i);
      const t0 = Date.now();
      const run = await copies.mutated(copy, g, () => copies.runTest(copy, g.test, namePattern(g.name)));
      const v: Verdict = run.timedOut
        ? { kind: "error", detail: `timed out after ${seconds(TIMEOUT_MS)}` }
        : verdict(run.nodes, g.name);
      const took = seconds(Date.now() - t0);
      if (v.kind === "caught") console.log(`caught   ${g.what} (${where(g)}, ${took})`);
      else if (v.kind === "missed") {
        missed++;
        console.log(`MISSED   ${g.what} (${where(g)}, ${took}): ${v.detail}`);
      } else {
        errors++;
        const tail = run.stderr.trim() ? `\n         stderr: ${stderrGist(run.stderr)}` : "";
        console.log(`ERROR    ${g.what} (${where(g)}, ${took}): ${v.detail}${tail}`);
      }
    });
  } finally {
    copies.remove();
  }
  const caught = guards.length - missed - errors;
  console.log(
    `${guards.length} guards: ${caught} caught, ${missed} missed, ${errors} errors in ${duration(Date.now() - started)} (${jobs} jobs)`,
  );
  return missed + errors;
}

/** Runs each guard's mutation against its whole test file and prints the tests that fail, to pick a name. */
async function discover(guards: readonly Guard[], jobs: number): Promise<number> {
  const copies = new Copies();
  let unnoticed = 0;
  try {
    await pool(guards, jobs, async (g, i) => {
      const copy = copies.get(i);
      const t0 = Date.now();
      const run = await copies.mutated(copy, g, () => copies.runTest(copy, g.test, undefined));
      const failed = run.nodes.filter(
        (n) => n.status === "fail" && !n.skipped && !n.suite && !n.hasFailedChild,
      );
      const lines = [`${g.what} (${g.file} -> ${g.test}, ${seconds(Date.now() - t0)})`];
      if (run.timedOut) lines.push(`  the run timed out after ${seconds(TIMEOUT_MS)}`);
      if (failed.length === 0) {
        unnoticed++;
        lines.push("  no test fails under this mutation");
      }
      if (failed.some((n) => !n.parent && n.name.endsWith(g.test)) && run.stderr.trim()) {
        lines.push(`  the file failed as a whole: ${stderrGist(run.stderr)}`);
      }
      for (const n of failed) {
        const usable = selectable(n);
        const hint = usable === n ? "" : ` (select it by its test: "${usable.name}")`;
        const current = g.name && titlePath(usable).some((t) => t.includes(g.name)) ? " [current name]" : "";
        lines.push(`  fails: "${titlePath(n).join(" > ")}"${hint}${current}: ${n.error ?? ""}`);
      }
      console.log(lines.join("\n"));
    });
  } finally {
    copies.remove();
  }
  return unnoticed;
}

const matches = (g: Guard, filter: string) => [g.file, g.test, g.what].some((s) => s.includes(filter));

function staleReport(guards: readonly Guard[], withNames: boolean): string[] {
  return guards.flatMap((g) => {
    const why = codeProblem(g, readRoot) ?? (withNames ? nameProblem(g, readRoot) : undefined);
    return why ? [`STALE  ${g.what}: ${why} (update ${LIST})`] : [];
  });
}

/** HEAD when the work tree has no change but the record file itself, else why not. */
function cleanHead(): { sha: string } | { why: string } {
  const head = git(["rev-parse", "HEAD"]);
  const status = git(["status", "--porcelain", "--untracked-files=all"]);
  if (!head.ok || !status.ok) return { why: "git could not tell HEAD or the work tree's state" };
  // node_modules may be a symlink (a git worktree sharing another's), which "node_modules/" in .gitignore misses.
  const changes = status.out
    .split("\n")
    .filter((l) => l && l.slice(3) !== RECORD && l.slice(3) !== "node_modules");
  if (changes.length > 0)
    return { why: `the work tree differs from HEAD (${changes.length} paths in git status)` };
  return { sha: head.out.trim() };
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  let jobs = availableParallelism();
  const j = args.indexOf("--jobs");
  if (j >= 0) {
    jobs = Number(args[j + 1]);
    if (!Number.isInteger(jobs) || jobs < 1) {
      console.error(`--jobs needs a positive whole number, got ${args[j + 1]}`);
      return 2;
    }
    args.splice(j, 2);
  }
  const [mode, filter] = args;

  if (mode === "--check") {
    const problems = staleReport(GUARDS, true);
    for (const p of problems) console.log(p);
    console.log(`${GUARDS.length - problems.length} guards apply, ${problems.length} stale`);
    return problems.length === 0 ? 0 : 1;
  }

  if (mode === "--discover") {
    const picked = filter
      ? GUARDS.filter((g) => matches(g, filter))
      : GUARDS.filter((g) => nameProblem(g, readRoot) !== undefined);
    const problems = staleReport(picked, false);
    for (const p of problems) console.log(p);
    if (problems.length > 0) return 1;
    console.log(
      `discovering ${picked.length} guards (whole test files, ${Math.min(jobs, picked.length)} jobs)`,
    );
    return (await discover(picked, jobs)) === 0 ? 0 : 1;
  }

  let guards: readonly Guard[];
  let deep = false;
  if (mode === "--all") {
    guards = GUARDS;
    deep = true;
  } else if (mode === "--changed") {
    const sel = await selectChanged();
    console.log(sel.why);
    guards = sel.guards;
  } else if (mode === undefined || !mode.startsWith("--")) {
    guards = mode ? GUARDS.filter((g) => matches(g, mode)) : GUARDS;
  } else {
    console.error(`unknown option ${mode}; see the comment at the top of tools/guards.ts`);
    return 2;
  }
  const problems = staleReport(guards, true);
  for (const p of problems) console.log(p);
  if (problems.length > 0) {
    console.log(`${problems.length} stale guards; nothing run`);
    return 1;
  }
  if (guards.length === 0) return 0;

  const before = deep ? cleanHead() : undefined;
  const failures = await runGuards(guards, jobs);
  if (before) {
    const after = cleanHead();
    const why =
      failures > 0
        ? `${failures} guards were not caught`
        : "why" in before
          ? before.why
          : "why" in after
            ? after.why
            : after.sha !== before.sha
              ? "HEAD moved during the run"
              : undefined;
    if (why === undefined && "sha" in before) {
      writeFileSync(path.join(ROOT, RECORD), `${before.sha} ${new Date().toISOString()}\n`);
      console.log(
        `recorded ${before.sha} in ${RECORD}: commit it (--changed runs only what changes after it)`,
      );
    } else {
      console.log(`${RECORD} not updated: ${why}`);
    }
  }
  return failures === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
