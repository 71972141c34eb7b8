/**
 * T07: one module system, chosen deliberately: CommonJS (Pulumi's nodejs runtime loads the program with
 * ts-node in CommonJS mode; lib/shell.ts relies on __dirname). This test compiles the project with tsc and
 * loads every emitted module with plain `require`, no loader, so an ESM-only construct or a CJS global used
 * in the wrong module system fails here rather than on a user's Mac.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const ROOT = path.join(__dirname, "..");

test("package.json and tsconfig agree on CommonJS", () => {
  assert.equal(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).type, "commonjs");
  const tsconfig = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.json"), "utf8"));
  assert.equal(tsconfig.compilerOptions.module, "commonjs");
});

test("every program module compiles and loads with plain require()", () => {
  // Inside the project (bin/ is git-ignored) so the compiled modules resolve node_modules as the program does.
  mkdirSync(path.join(ROOT, "bin"), { recursive: true });
  const out = mkdtempSync(path.join(ROOT, "bin", "t07-"));
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", ROOT, "--outDir", out], {
    stdio: "pipe",
  });
  const modules = ["index.js", "program.js"]
    .concat(readdirSync(path.join(out, "components")).map((f) => `components/${f}`))
    .concat(readdirSync(path.join(out, "lib")).map((f) => `lib/${f}`))
    .concat(readdirSync(path.join(out, "manifests")).map((f) => `manifests/${f}`))
    .filter((f) => f.endsWith(".js"));
  assert.ok(modules.length >= 12, modules.join(", "));
  const script = `for (const m of ${JSON.stringify(modules)}) require(require("path").join(${JSON.stringify(out)}, m));
const shell = require(${JSON.stringify(path.join(out, "lib/shell.js"))});
// __dirname-based paths still find the scripts from the compiled location's sibling tree.
process.stdout.write(typeof shell.SCRIPTS_DIR);`;
  const r = execFileSync(process.execPath, ["-e", script], { encoding: "utf8", cwd: ROOT });
  assert.equal(r, "string");
  rmSync(out, { recursive: true, force: true });
});
