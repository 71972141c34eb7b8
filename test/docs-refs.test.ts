/**
 * Every test that docs/lessons.md, README.md and source comments cite exists (docs once cited tests that did
 * not). Cited files must exist; in docs/lessons.md's test column, every double-quoted name outside parentheses
 * must be (part of) a test or suite title. Parenthesised notes are free descriptions and are not checked.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";

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

/** What ships: the program, its commands, scripts and tools (not tests, docs or fixtures). */
const productionFiles = ["components", "lib", "mac", "manifests", "ops", "scripts", "tools"]
  .flatMap((d) =>
    readdirSync(path.join(ROOT, d), { recursive: true, encoding: "utf8" }).map((f) => path.join(d, f)),
  )
  .concat(["index.ts", "program.ts"])
  .filter((f) => /\.(ts|sh|js|mjs)$/.test(f) && !f.includes("node_modules"));

/**
 * The comments of a production file, one entry per comment: `#` lines and trailing ` # …` in shell; in TypeScript
 * and JavaScript the comments the compiler sees (so a `//` or `/*` inside a string is not one).
 */
function productionComments(file: string): string[] {
  const text = read(file);
  if (file.endsWith(".sh"))
    return text
      .split("\n")
      .map((l) => (/^\s*#/.test(l) ? l : l.includes(" # ") ? l.slice(l.indexOf(" # ")) : ""))
      .filter((l) => l !== "");
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = new Map<number, string>();
  const visit = (node: ts.Node) => {
    for (const ranges of [
      ts.getLeadingCommentRanges(text, node.getFullStart()),
      ts.getTrailingCommentRanges(text, node.getEnd()),
    ])
      for (const r of ranges ?? []) found.set(r.pos, text.slice(r.pos, r.end));
    node.forEachChild(visit);
  };
  visit(src);
  return [...found.values()];
}

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

describe("production comments", () => {
  test("name no issue or row of the tracker (the code outlives the tracker)", () => {
    const found: string[] = [];
    for (const f of productionFiles)
      for (const c of productionComments(f))
        for (const m of c.matchAll(/\b(?:issues?|rows?)\s+#?\d+/gi)) found.push(`${f}: ${m[0]}`);
    assert.deepEqual(found, []);
  });

  test("nor do the tests (titles included) and the docs", () => {
    const files = readdirSync(path.join(ROOT, "test"), { recursive: true, encoding: "utf8" })
      .filter((f) => /\.(ts|sh|mjs)$/.test(f))
      .map((f) => path.join("test", f))
      .concat([
        "README.md",
        "manifests/README.md",
        ".ci/run",
        ...readdirSync(path.join(ROOT, "docs"))
          .filter((f) => f.endsWith(".md"))
          .map((f) => path.join("docs", f)),
      ]);
    const found = files.flatMap((f) =>
      [...read(f).matchAll(/\b(?:issues?|rows?)\s+#?\d+/gi)].map((m) => `${f}: ${m[0]}`),
    );
    assert.deepEqual(found, []);
  });

  test("every file they point to exists (an upstream file is cited by its URL)", () => {
    const missing: string[] = [];
    for (const f of productionFiles)
      for (const c of productionComments(f)) {
        // The research notes behind the code are not in the repository: a comment cites the upstream source instead.
        for (const m of c.matchAll(/\bfacts(?:\/[\w.-]+|\s+(?:§\s*)?[A-Z]?\.?\d[\w.]*)/g))
          missing.push(`${f}: ${m[0]}`);
        // A path with a directory and an extension; one that continues a URL or a `~/` path is not a repository file.
        const paths =
          /(?<![\w/.:@~-])((?:\.?[\w-]+\/)+[\w.-]*\w\.(?:ts|sh|md|js|mjs|json|ya?ml|txt|go|css|html))\b/g;
        for (const m of c.matchAll(paths)) {
          const p = m[1];
          if (p.startsWith("facts/")) continue;
          const bases = [ROOT, path.join(ROOT, "scripts"), path.join(ROOT, path.dirname(f))];
          if (!bases.some((b) => existsSync(path.join(b, p)))) missing.push(`${f}: ${p}`);
        }
      }
    assert.deepEqual(missing, []);
  });
});
