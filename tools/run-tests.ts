/**
 * `npm test` runs the test files, then the whole-run checks: every script failure exit executed
 * (tools/shell-coverage.ts), every exported lib/ and mac/ function called, no unlisted skip in CI, and an
 * empty TMPDIR at the end.
 */
import { TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { printReport, report } from "./shell-coverage";

const ROOT = path.join(__dirname, "..");

/**
 * The one place a test may skip in CI, with why; the Mac e2e suites are not in `npm test` but skip off a Mac
 * if run.
 */
export const ALLOWED_SKIPS: Readonly<Record<string, string>> = {
  "Mac end-to-end: a small lab up, checked, idempotent, destroyed":
    "needs a Mac with tart and pulumi on PATH (test/e2e/mac-lab.e2e.ts)",
  "Mac end-to-end: ClusterMesh turned on, a global service answers across clusters":
    "needs a Mac with tart and pulumi on PATH (test/e2e/mac-mesh.e2e.ts)",
};

/** tsx's own transform cache is not test residue. */
const TMP_NOT_RESIDUE = /^tsx-\d+$/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => path.join(path.relative(ROOT, dir), f))
    .sort();
}

const LIB_DIRS = ["lib", "mac"];

export function libExports(): { file: string; name: string; line: number }[] {
  return LIB_DIRS.flatMap((dir) =>
    readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `${dir}/${f}`),
  ).flatMap((file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const names = [
      ...text.matchAll(/^export (?:async )?function\s*\*?\s*([A-Za-z_$][\w$]*)/gm),
      ...text.matchAll(
        /^export const ([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s*)?(?:\([^)]*\)|[\w$]+)\s*(?::[^=]+)?=>/gm,
      ),
    ].map((m) => m[1]);
    const lines = text.split("\n");
    return names.map((name) => ({
      file,
      name,
      line:
        1 +
        lines.findIndex((l) =>
          new RegExp(`^export (?:async )?(?:function\\s*\\*?\\s*|const )${name}\\b`).test(l),
        ),
    }));
  });
}

interface V8Function {
  functionName: string;
  ranges: { startOffset: number; count: number }[];
}

/**
 * Found by the line each function starts on, through the coverage's source map, since tsx wraps arrow
 * functions in __name() and V8 does not see their names.
 */
export function uncalledLibExports(v8Dir: string): string[] {
  const called = new Set<string>();
  for (const f of readdirSync(v8Dir)) {
    if (!f.endsWith(".json")) continue;
    const data = JSON.parse(readFileSync(path.join(v8Dir, f), "utf8"));
    const maps = data["source-map-cache"] ?? {};
    for (const s of data.result ?? []) {
      const url = s.url as string;
      const m = /\/((?:lib|mac)\/[\w.-]+\.ts)$/.exec(url);
      if (!m || !url.startsWith(`file://${ROOT}/`) || !maps[url]) continue;
      const lineLengths: number[] = maps[url].lineLengths;
      const map = new TraceMap(maps[url].data);
      const origLineAt = (offset: number): number | undefined => {
        let line = 0;
        while (line < lineLengths.length && offset > lineLengths[line]) offset -= lineLengths[line++] + 1;
        return originalPositionFor(map, { line: line + 1, column: offset }).line ?? undefined;
      };
      for (const fn of s.functions as V8Function[]) {
        const r = fn.ranges[0];
        if (!r || r.count === 0) continue;
        const orig = origLineAt(r.startOffset);
        if (orig !== undefined) called.add(`${m[1]}:${orig}`);
      }
    }
  }
  return libExports()
    .filter((e) => !called.has(`${e.file}:${e.line}`))
    .map((e) => `${e.file}:${e.line} ${e.name}`);
}

export function skipsFromTap(tap: string): { name: string; reason: string }[] {
  return [...tap.matchAll(/^\s*ok \d+ - (.*?) # SKIP(?: (.*))?$/gm)].map((m) => ({
    name: m[1].replace(/\\#/g, "#"),
    reason: m[2] ?? "",
  }));
}

/** So that a file that grows slow is seen at once. */
export function slowestFiles(
  jsonLines: string,
  count = 15,
): { file: string; seconds: number; tests: number }[] {
  return jsonLines
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { file: string; seconds: number; tests: number })
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, count);
}

function printSlowest(jsonLines: string): void {
  const rows = slowestFiles(jsonLines);
  if (rows.length === 0) return;
  console.log(`\nslowest test files (wall seconds, tests run):`);
  for (const r of rows) {
    console.log(
      `  ${r.seconds.toFixed(1).padStart(7)}  ${String(r.tests).padStart(4)}  ${path.relative(ROOT, r.file)}`,
    );
  }
}

function main(): number {
  const base = mkdtempSync(path.join(tmpdir(), "tartlab-test-run-"));
  const tmp = path.join(base, "tmp");
  const traces = path.join(base, "shell-traces");
  const v8 = path.join(base, "v8-coverage");
  const tap = path.join(base, "report.tap");
  const times = path.join(base, "file-times.jsonl");
  for (const d of [tmp, traces, v8]) mkdirSync(d);
  const files = process.argv.slice(2);
  const problems: string[] = [];
  try {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--test",
        "--test-concurrency=2",
        "--experimental-test-coverage",
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        "--test-reporter=tap",
        `--test-reporter-destination=${tap}`,
        "--test-reporter=./tools/file-times.mjs",
        "--test-reporter-destination=stdout",
        ...(files.length ? files : testFiles(path.join(ROOT, "test"))),
      ],
      {
        cwd: ROOT,
        stdio: "inherit",
        env: {
          ...process.env,
          TMPDIR: tmp,
          TARTLAB_SHELL_TRACE_DIR: traces,
          NODE_V8_COVERAGE: v8,
          TARTLAB_FILE_TIMES: times,
        },
      },
    );
    if (r.status !== 0) problems.push(`node --test failed (exit ${r.status ?? r.signal})`);
    printSlowest(existsSync(times) ? readFileSync(times, "utf8") : "");

    // With a file list the whole-suite checks would only report what was not run.
    if (files.length === 0) {
      problems.push(...printReport(report(traces)));
      const uncalled = uncalledLibExports(v8);
      console.log(
        `\nexported lib/ and mac/ functions called by a test: ${libExports().length - uncalled.length}/${libExports().length}`,
      );
      for (const u of uncalled) problems.push(`exported function never called by a test: ${u}`);
    }

    const skips = skipsFromTap(readFileSync(tap, "utf8"));
    for (const s of skips) {
      const allowed = ALLOWED_SKIPS[s.name];
      const line = `skipped: ${s.name} (${s.reason})`;
      if (allowed) console.log(`${line}: allowed, ${allowed}`);
      else if (process.env.CI && process.env.CI !== "false")
        problems.push(
          `${line}: a skip in CI hides a test; fix the cause or list it in tools/run-tests.ts ALLOWED_SKIPS`,
        );
      else console.log(`WARNING ${line}: this fails in CI`);
    }

    const left = readdirSync(tmp).filter((f) => !TMP_NOT_RESIDUE.test(f));
    for (const f of left) problems.push(`left behind in the tests' TMPDIR: ${f}`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  for (const p of problems) console.error(`FAIL ${p}`);
  if (problems.length === 0) console.log("\nall tests and whole-run checks passed");
  return problems.length ? 1 : 0;
}

if (require.main === module) process.exit(main());
