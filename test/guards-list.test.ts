/**
 * The guard list (tools/guards-list.ts) names code and tests by their exact text. An edit that moves that text makes
 * a guard stale, which running the guards finds only after minutes; `--check` finds it in seconds. The runner's own
 * decisions (which guards changed, whether a named test caught a mutation) are checked here on small inputs.
 */
import { spawnSync } from "node:child_process";
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { GUARDS, type Guard } from "../tools/guards-list";
import { changedGuards, namePattern, parseEvents, parseRecord, testTree, verdict } from "../tools/guards";

const ROOT = path.join(__dirname, "..");

test("every guard still names code that exists, a test file that exists and a test title in it", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "tools/guards.ts", "--check"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^\d+ guards apply, 0 stale$/m);
});

test("--changed picks the guards whose code file, test file or own entry changed", () => {
  const g = (file: string, testFile: string, from = "x"): Guard => ({
    what: `${file} ${from}`,
    file,
    from,
    to: "",
    test: testFile,
    name: "t",
  });
  const code = g("lib/a.ts", "test/a.test.ts");
  const tested = g("lib/b.ts", "test/b.test.ts");
  const untouched = g("lib/c.ts", "test/c.test.ts");
  const edited = g("lib/d.ts", "test/d.test.ts", "new text");
  const added = g("lib/e.ts", "test/e.test.ts");
  const previous = [
    code,
    tested,
    untouched,
    { ...edited, from: "old text" },
    { ...untouched, what: "reworded" },
  ];
  const picked = changedGuards(
    [code, tested, untouched, edited, added],
    previous,
    new Set(["lib/a.ts", "test/b.test.ts"]),
  );
  assert.deepEqual(
    picked.map((p) => [p.guard.file, p.why]),
    [
      ["lib/a.ts", "lib/a.ts changed"],
      ["lib/b.ts", "test/b.test.ts changed"],
      ["lib/d.ts", "new or changed entry"],
      ["lib/e.ts", "new or changed entry"],
    ],
  );
  // Against a list that does not exist at the recorded commit every guard is new.
  assert.equal(changedGuards(GUARDS, [], new Set()).length, GUARDS.length);
  assert.deepEqual(changedGuards(GUARDS, GUARDS, new Set()), []);
});

test("the record file holds a commit and a date", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  assert.deepEqual(parseRecord(`${sha} 2025-01-02T03:04:05.000Z\n`), {
    sha,
    date: "2025-01-02T03:04:05.000Z",
  });
  assert.equal(parseRecord("not a sha\n"), undefined);
});

test("every guard's name matches itself literally as a --test-name-pattern", () => {
  for (const { name } of GUARDS) assert.ok(new RegExp(namePattern(name)).test(name), name);
  assert.ok(!new RegExp(namePattern("a.b (c) [d]")).test("axb c d"));
});

test("a verdict comes from the named test's own result, never from the exit status alone", () => {
  // Node 20 events: tests outside the pattern are reported as skipped; a subtest made with t.test is selected
  // only through its parent, so naming it alone runs nothing.
  const ev = (kind: "start" | "pass" | "fail", name: string, nesting: number, extra = {}) => ({
    kind,
    name,
    nesting,
    ...extra,
  });
  const run = [
    ev("start", "top", 0),
    ev("fail", "top", 0, { error: "boom" }),
    ev("start", "suite", 0),
    ev("start", "inner", 1),
    ev("pass", "inner", 1, { skip: true }),
    ev("pass", "suite", 0, { suite: true }),
    ev("start", "parent", 0),
    ev("pass", "parent", 0, { skip: true }),
  ];
  assert.equal(verdict(testTree(run), "top").kind, "caught");
  assert.equal(verdict(testTree(run), "inner").kind, "error");
  assert.equal(verdict(testTree(run), "child").kind, "error");
  const suiteRun = [
    ev("start", "suite", 0),
    ev("start", "inner", 1),
    ev("fail", "inner", 1),
    ev("start", "other", 1),
    ev("pass", "other", 1),
    ev("fail", "suite", 0, { suite: true }),
  ];
  assert.deepEqual(verdict(testTree(suiteRun), "suite"), { kind: "caught", detail: '"suite > inner"' });
  assert.equal(verdict(testTree(suiteRun), "other").kind, "missed");
  const loadError = [
    ev("start", "/x/test/a.test.ts", 0),
    ev("fail", "/x/test/a.test.ts", 0, { error: "no module" }),
  ];
  assert.match(verdict(testTree(loadError), "top").detail, /0 tests.*no module/);
});

test("against a real node --test run: the named test alone decides, an unrelated failing hook does not", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "tartlab-guards-"));
  try {
    const file = path.join(dir, "fixture.test.cjs");
    writeFileSync(
      file,
      [
        'const { test, describe, it, before } = require("node:test");',
        'test("top fails (x.y) [z]", () => { throw new Error("top"); });',
        'test("top passes", () => {});',
        'describe("suite s", () => { it("inner fails", () => { throw new Error("inner"); }); it("inner passes", () => {}); });',
        'describe("hooked", () => { before(() => { throw new Error("hook"); }); it("behind the hook", () => {}); });',
      ].join("\n"),
    );
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // this test itself runs under node --test
    const named = (name: string) => {
      const r = spawnSync(
        process.execPath,
        [
          "--test",
          `--test-reporter=${path.join(ROOT, "tools/guards-reporter.mjs")}`,
          `--test-name-pattern=${namePattern(name)}`,
          file,
        ],
        { cwd: dir, env, encoding: "utf8" },
      );
      return verdict(testTree(parseEvents(r.stdout)), name).kind;
    };
    assert.equal(named("top fails (x.y) [z]"), "caught");
    assert.equal(named("top passes"), "missed"); // the run exits 1 (the hook), yet the named test passed
    assert.equal(named("inner fails"), "caught");
    assert.equal(named("suite s"), "caught");
    assert.equal(named("inner passes"), "missed");
    assert.equal(named("no such title"), "error");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
