/** Static rules every script obeys, each tied to a lesson. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { HELPERS_FILE, SCRIPTS_DIR } from "../lib/shell";

const ROOT = path.join(__dirname, "..");
const scripts = readdirSync(SCRIPTS_DIR, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".sh"))
  .sort();
const text = (rel: string) => readFileSync(path.join(SCRIPTS_DIR, rel), "utf8");
/** The script without comment lines: rules apply to what runs, not to what the comments explain. */
const code = (rel: string) =>
  text(rel)
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n");
/** The names of the functions a script defines. */
const functions = (rel: string) => new Set([...text(rel).matchAll(/^\s*([\w-]+)\s*\(\)/gm)].map((m) => m[1]));
/** Scripts that run on the Mac itself, whose /bin/bash is 3.2 (the helpers run everywhere). */
const onMac = scripts.filter(
  (s) =>
    s.startsWith("tart-vm/") ||
    s.startsWith("host/") ||
    s.startsWith("kubeadm-cluster/host-") ||
    s === HELPERS_FILE,
);

describe("scripts/", () => {
  test("there are scripts for every component", () => {
    for (const dir of ["tart-vm", "k8s-node", "kubeadm-cluster", "cilium-install", "host"]) {
      assert.ok(
        scripts.some((s) => s.startsWith(`${dir}/`)),
        dir,
      );
    }
  });

  test("each starts with the bash shebang and strict mode", () => {
    for (const s of scripts) {
      const lines = text(s).split("\n");
      assert.equal(lines[0], "#!/usr/bin/env bash", s);
      // The helpers run inside each script, after the script's own `set -euo pipefail`.
      if (s === HELPERS_FILE) continue;
      assert.ok(lines.includes("set -euo pipefail"), `${s}: set -euo pipefail`);
    }
  });

  test("the helper file defines functions only, and no script defines one of them again", () => {
    const helpers = functions(HELPERS_FILE);
    assert.ok(helpers.has("_retry") && helpers.has("_vm_state"), [...helpers].join(" "));
    // Statements outside a function would run in every script, remote ones included.
    const outside = code(HELPERS_FILE)
      .split("\n")
      .filter((l) => l.trim() !== "" && !/^([\w-]+\(\) \{.*\}|[\w-]+\(\) \{|\}|\s.*)$/.test(l));
    assert.deepEqual(outside, []);
    for (const s of scripts.filter((f) => f !== HELPERS_FILE)) {
      for (const f of functions(s)) assert.ok(!helpers.has(f), `${s} defines ${f} again`);
    }
  });

  test("each is used by a component or the host probe (no dead scripts)", () => {
    const sources = ["components", "lib", "mac"]
      .flatMap((d) => readdirSync(path.join(ROOT, d)).map((f) => readFileSync(path.join(ROOT, d, f), "utf8")))
      .join("\n");
    for (const s of scripts) {
      const [dir, file] = s.split("/");
      assert.ok(
        sources.includes(`"${s}"`) || (sources.includes(`"${dir}"`) && sources.includes(`"${file}"`)),
        s,
      );
    }
  });

  test("T10: no script sources another; scripts share no globals", () => {
    for (const s of scripts) assert.doesNotMatch(code(s), /^\s*(source|\.)\s+\S/m, s);
  });

  test("V06: no script flushes firewall rules wholesale", () => {
    for (const s of scripts) {
      assert.doesNotMatch(code(s), /iptables[^\n]*\s(-F|--flush|-X)\b|nft\s+flush\s+ruleset/, s);
    }
  });

  test("V04: no apt-key, no legacy apt.kubernetes.io", () => {
    for (const s of scripts)
      assert.doesNotMatch(code(s), /\bapt-key\b|apt\.kubernetes\.io|packages\.cloud\.google\.com/, s);
  });

  test("T05/T08: no line counting with wc, no column splitting of tart's table", () => {
    for (const s of scripts) {
      assert.doesNotMatch(code(s), /\bwc\s+-l\b/, s);
      assert.doesNotMatch(
        code(s),
        /tart list(?![^\n]*--format json)/,
        `${s}: tart list without --format json`,
      );
    }
  });

  test("scripts that run on the Mac avoid bash-4 features (macOS ships bash 3.2)", () => {
    const bash4 = /\b(mapfile|readarray|declare -A|local -n|declare -n)\b|\$\{[A-Za-z_]+(,,|\^\^)\}|&>>|\|&/;
    for (const s of onMac) assert.doesNotMatch(code(s), bash4, s);
  });

  // Skips off CI when shellcheck or shfmt is missing; in CI a skip fails the run (tools/run-tests.ts), and so does this.
  const missing = ["shellcheck", "shfmt"].filter((t) => spawnSync(t, ["--version"]).status !== 0);
  test(
    "shellcheck passes on every script",
    { skip: missing.length > 0 ? `${missing.join(" and ")} not installed` : undefined },
    () => {
      const r = spawnSync("bash", [path.join(ROOT, "test/shellcheck.sh")], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    },
  );
});
