/**
 * T07: one module system, chosen deliberately: CommonJS (Pulumi's nodejs runtime loads the program with
 * ts-node in CommonJS mode; lib/shell.ts relies on __dirname). This test emits every program module with
 * TypeScript's emitter and the project's compilerOptions (ts.transpileModule, one file at a time) and loads each
 * with plain `require`, no loader, so an ESM-only construct or a CJS global used in the wrong module system fails
 * here rather than on a user's Mac. That the whole project type-checks with the same tsconfig is `npm run
 * typecheck` (tsc --noEmit), which `npm run check` and CI run as their own step; a second full tsc here would
 * only repeat it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..");

/** The program's modules, as paths under the project: what `pulumi up` loads (index.ts and everything it reaches). */
const PROGRAM_MODULES = ["index.ts", "program.ts"].concat(
  ...["components", "lib", "mac", "manifests"].map((dir) =>
    readdirSync(path.join(ROOT, dir))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `${dir}/${f}`),
  ),
);

test("package.json and tsconfig agree on CommonJS", () => {
  assert.equal(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).type, "commonjs");
  const tsconfig = JSON.parse(readFileSync(path.join(ROOT, "tsconfig.json"), "utf8"));
  assert.equal(tsconfig.compilerOptions.module, "commonjs");
});

test("every program module compiles and loads with plain require()", () => {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) =>
      assert.fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  });
  assert.ok(parsed);
  assert.equal(parsed.options.module, ts.ModuleKind.CommonJS);
  assert.ok(PROGRAM_MODULES.length >= 12, PROGRAM_MODULES.join(", "));
  // Inside the project (bin/ is git-ignored) so the emitted modules resolve node_modules as the program does.
  mkdirSync(path.join(ROOT, "bin"), { recursive: true });
  const out = mkdtempSync(path.join(ROOT, "bin", "t07-"));
  try {
    const modules = PROGRAM_MODULES.map((file) => {
      const emitted = ts.transpileModule(readFileSync(path.join(ROOT, file), "utf8"), {
        compilerOptions: parsed.options,
        fileName: path.join(ROOT, file),
        reportDiagnostics: true,
      });
      assert.deepEqual(
        (emitted.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
        [],
        file,
      );
      const js = file.replace(/\.ts$/, ".js");
      mkdirSync(path.dirname(path.join(out, js)), { recursive: true });
      writeFileSync(path.join(out, js), emitted.outputText);
      return js;
    });
    // An emitted program finds scripts/ next to its lib/ (SCRIPTS_DIR is __dirname/../scripts): ship them there,
    // as any build of this program must. Pulumi itself runs the sources (Pulumi.yaml), see the test below.
    cpSync(path.join(ROOT, "scripts"), path.join(out, "scripts"), { recursive: true });
    const script = `for (const m of ${JSON.stringify(modules)}) require(require("path").join(${JSON.stringify(out)}, m));
const shell = require(${JSON.stringify(path.join(out, "lib/shell.js"))});
process.stdout.write(JSON.stringify({ dir: shell.SCRIPTS_DIR, text: shell.loadScript("kubeadm-cluster/join.sh") }));`;
    const r = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8", cwd: ROOT }));
    assert.equal(r.dir, path.join(out, "scripts"));
    assert.deepEqual(
      readdirSync(r.dir, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".sh"))
        .sort(),
      readdirSync(path.join(ROOT, "scripts"), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".sh"))
        .sort(),
    );
    // The file, after the helper functions: what the sources' loadScript makes of the same scripts/.
    assert.ok(r.text.endsWith(readFileSync(path.join(ROOT, "scripts/kubeadm-cluster/join.sh"), "utf8")));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadScript } = require("../lib/shell") as typeof import("../lib/shell");
    assert.equal(r.text, loadScript("kubeadm-cluster/join.sh"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("SCRIPTS_DIR of the program as Pulumi runs it (the sources) exists and holds every component's scripts", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SCRIPTS_DIR } = require("../lib/shell") as typeof import("../lib/shell");
  assert.equal(SCRIPTS_DIR, path.join(ROOT, "scripts"));
  assert.ok(existsSync(SCRIPTS_DIR), SCRIPTS_DIR);
  for (const dir of ["tart-vm", "k8s-node", "kubeadm-cluster", "cilium-install", "host"])
    assert.ok(
      readdirSync(path.join(SCRIPTS_DIR, dir)).some((f) => f.endsWith(".sh")),
      `${SCRIPTS_DIR}/${dir} holds no scripts`,
    );
});
