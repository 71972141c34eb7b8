/** The CI report's pieces: the phase table (tools/check.ts) and the slowest test files (tools/run-tests.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { callerPhases, phases, table } from "../tools/check";
import { slowestFiles } from "../tools/run-tests";

test("phases timed by .ci/run head the table; a malformed entry is dropped", () => {
  assert.deepEqual(callerPhases("apt=12,npm ci=40.5,oops"), [
    { name: "apt", seconds: 12, ok: true },
    { name: "npm ci", seconds: 40.5, ok: true },
  ]);
  assert.deepEqual(callerPhases(undefined), []);
});

test("the table shows every phase, its state and the total", () => {
  const t = table([
    { name: "apt", seconds: 10, ok: true },
    { name: "tests", seconds: 100.25, ok: false },
  ]);
  assert.match(t, /apt\s+10\.0 s {2}ok/);
  assert.match(t, /tests\s+100\.3 s {2}FAILED/);
  assert.match(t, /total\s+110\.3 s/);
});

test("check runs the changed guards; check:deep runs all of them", () => {
  const guards = (deep: boolean) => phases(deep).find((p) => p.name.startsWith("guards"))!.command;
  assert.equal(guards(false).at(-1), "--changed");
  assert.equal(guards(true).at(-1), "--all");
  assert.deepEqual(
    phases(false).map((p) => p.name),
    ["typecheck", "lint", "knip", "format", "shellcheck", "tests", "guards (changed)"],
  );
});

test("the slowest files come first, at most the count asked", () => {
  const lines = [
    { file: "/r/a.test.ts", seconds: 1, tests: 2 },
    { file: "/r/b.test.ts", seconds: 9, tests: 1 },
    { file: "/r/c.test.ts", seconds: 5, tests: 3 },
  ]
    .map((l) => JSON.stringify(l))
    .join("\n");
  assert.deepEqual(
    slowestFiles(`${lines}\n`, 2).map((r) => r.file),
    ["/r/b.test.ts", "/r/c.test.ts"],
  );
});
