/**
 * Every test that docs/lessons.md, README.md and source comments cite exists (issue 9: docs cited tests that did
 * not). Cited files must exist; in docs/lessons.md's test column, every double-quoted name outside parentheses
 * must be (part of) a test or suite title. Parenthesised notes are free descriptions and are not checked.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";

const ROOT = path.join(__dirname, "..");
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");

const sourceFiles = ["components", "lib", "manifests", "tools", "test", "scripts", ".ci"]
  .flatMap((d) =>
    readdirSync(path.join(ROOT, d), { recursive: true, encoding: "utf8" }).map((f) => path.join(d, f)),
  )
  .concat(["index.ts", "program.ts"])
  .filter((f) => /\.(ts|sh)$|^\.ci\/run$/.test(f) && !f.includes("node_modules"));

/** Comment text of a source file (// and /* *\/ and # lines). */
const comments = (text: string) =>
  [...text.matchAll(/\/\/.*$|\/\*[\s\S]*?\*\/|^\s*#.*$/gm)].map((m) => m[0]).join("\n");

const cited = (text: string) =>
  [...text.matchAll(/\btest\/[\w./-]*[\w-]/g)].map((m) => m[0]).filter((p) => p !== "test/");

/** Test and suite titles per test file (string literals passed to test()/describe()). */
function titles(file: string): string[] {
  const text = read(file);
  return [...text.matchAll(/\b(?:test|describe|it)\(\s*(?:\n\s*)?(["`])((?:\\.|(?!\1).)*)\1/g)].map((m) =>
    m[2].replace(/\\(.)/g, "$1"),
  );
}

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[`"'…]/g, "")
    .replace(/\s+/g, " ")
    .trim();

describe("references to tests", () => {
  test("every test/… path in docs/lessons.md, README.md and source comments exists", () => {
    const missing: string[] = [];
    for (const doc of ["docs/lessons.md", "README.md"])
      for (const p of cited(read(doc))) if (!existsSync(path.join(ROOT, p))) missing.push(`${doc}: ${p}`);
    for (const f of sourceFiles)
      for (const p of cited(comments(read(f))))
        if (!existsSync(path.join(ROOT, p))) missing.push(`${f}: ${p}`);
    assert.deepEqual(missing, []);
  });

  test("docs/lessons.md: every test named for a test file is a test or suite of that file", () => {
    const missing: string[] = [];
    for (const row of read("docs/lessons.md")
      .split("\n")
      .filter((l) => /^\|\s*[TV]\d\d\s*\|/.test(l))) {
      const cells = row.split("|").map((c) => c.trim());
      const id = cells[1];
      const testsCell = cells[cells.length - 2];
      for (const q of testsCell.replace(/\([^)]*\)/g, "").matchAll(/"([^"]+)"/g)) {
        const n = norm(q[1]);
        const files = sourceFiles.filter((f) => f.startsWith("test/") && f.endsWith(".ts"));
        if (
          !files.some((f) =>
            titles(f)
              .map(norm)
              .some((t) => t.includes(n)),
          )
        )
          missing.push(`${id}: quoted test "${q[1]}" not found`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
