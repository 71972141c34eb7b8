/**
 * Contracts between the program and the real environment, derived from the program itself (the registrations
 * recorded under mocks and the scripts' text), not from copied literals.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { SCRIPTS_DIR, loadScript } from "../lib/shell";
import { Recorder, sharedLab } from "./harness/pulumi";

const scriptFiles = readdirSync(SCRIPTS_DIR, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".sh"))
  .map((f) => f.split(path.sep).join("/"));
const scriptText = new Map(scriptFiles.map((f) => [f, readFileSync(path.join(SCRIPTS_DIR, f), "utf8")]));
/** What a bundle carries of each script: the file after the helper functions (lib/shell.ts). */
const bundledText = new Map(scriptFiles.map((f) => [f, loadScript(f)]));
/** What runs, without comment lines: a comment that mentions /etc/kubernetes reads nothing. */
const code = (text: string) =>
  text
    .split("\n")
    .filter((l) => !/^\s*#/.test(l))
    .join("\n");

/** A secret input arrives under mocks as { <sig>: …, value }. */
const plain = (v: any): any => (v !== null && typeof v === "object" && "value" in v ? v.value : v);

/** The scripts inside a lib/shell.ts bundle, by action, as script paths under scripts/. */
function bundledScripts(stdin: string): Partial<Record<"create" | "delete", string>> {
  const out: Partial<Record<"create" | "delete", string>> = {};
  const re =
    /^(create|delete)\)\nIFS= read -r -d '' __tartlab_script <<'(\w+)' \|\| true\n([\s\S]*?)\n\2\n/gm;
  for (const m of stdin.matchAll(re)) {
    const text = `${m[3]}\n`;
    const file = [...bundledText].find(([, t]) => t === text || t === m[3])?.[0];
    assert.ok(
      file,
      `a bundle carries a ${m[1]} script that is not a file under scripts/:\n${text.slice(0, 200)}`,
    );
    out[m[1] as "create" | "delete"] = file;
  }
  return out;
}

describe("contracts with the real environment (default lab under mocks)", () => {
  let rec: Recorder;
  let commands: {
    name: string;
    type: string;
    create: string;
    delete?: string;
    scripts: ReturnType<typeof bundledScripts>;
  }[];
  before(async () => {
    rec = (await sharedLab()).recorder;
    commands = rec.registrations
      .filter((r) => r.type === "command:remote:Command" || r.type === "command:local:Command")
      .map((r) => ({
        name: r.name,
        type: r.type,
        create: plain(r.inputs.create),
        delete: plain(r.inputs.delete),
        scripts: bundledScripts(String(plain(r.inputs.stdin) ?? "")),
      }));
  });

  test("every command runs a script from scripts/ through the bundle", () => {
    assert.ok(commands.length > 20);
    for (const c of commands) assert.ok(c.scripts.create, `${c.name}: no create script in its stdin`);
  });

  test("every remote command whose script reads /etc/kubernetes runs it under `sudo -n` (root-only files)", () => {
    let checked = 0;
    for (const c of commands) {
      for (const action of ["create", "delete"] as const) {
        const file = c.scripts[action];
        if (!file || !code(scriptText.get(file)!).includes("/etc/kubernetes")) continue;
        assert.equal(
          c.type,
          "command:remote:Command",
          `${c.name} (${file}) reads /etc/kubernetes but runs locally`,
        );
        const command = action === "create" ? c.create : c.delete;
        assert.match(
          command ?? "",
          /^sudo -n bash -s -- /,
          `${c.name}: ${action} runs ${file} without sudo -n`,
        );
        checked++;
      }
    }
    assert.ok(checked >= 5, `only ${checked} commands read /etc/kubernetes`);
  });

  test("every script a component loads is a file under scripts/, and every node/Mac script is loaded", () => {
    const loaded = new Set(commands.flatMap((c) => Object.values(c.scripts)));
    // host/facts.sh is run by lib/host.ts before any resource exists, not by a component. The golden image's
    // scripts: bake.sh is loaded only with tartlab:goldenImage true, pull.sh and clean.sh travel inside the bake's
    // inputs and run in the VM being baked (test/golden-image.test.ts, test/shell/golden-image.test.ts).
    // helpers.sh is not a step: lib/shell.ts puts it in front of every script. cilium-install/mesh-ready.sh is
    // loaded only with tartlab:clusterMesh on (test/cluster-mesh.test.ts).
    assert.deepEqual(scriptFiles.filter((f) => !loaded.has(f)).sort(), [
      "cilium-install/mesh-ready.sh",
      "golden-image/bake.sh",
      "golden-image/clean.sh",
      "golden-image/pull.sh",
      "helpers.sh",
      "host/facts.sh",
    ]);
    // That each loaded script is also EXECUTED by a shell test is checked on the whole run's traces by
    // tools/shell-coverage.ts ("no test executed this script").
  });

  test("every *Patch resource's provider has server-side apply on (Patch resources need it)", () => {
    // Every cluster's provider has it on, so a Patch resource added to any cluster later is covered too.
    const providers = rec.registrations.filter((r) => r.type === "pulumi:providers:kubernetes");
    assert.equal(providers.length, 3, "one provider per cluster of the default lab");
    for (const provider of providers) {
      assert.ok(
        [true, "true"].includes(plain(provider.inputs.enableServerSideApply)),
        `provider ${provider.name} lacks enableServerSideApply`,
      );
    }
    const patches = rec.registrations.filter((r) => r.type.endsWith("Patch"));
    for (const p of patches) {
      const urn = p.provider.split("::").slice(0, -1).join("::");
      const provider = rec.registrations.find((r) => r.urn === urn);
      assert.ok(provider, `${p.name}: provider ${p.provider} not registered`);
      assert.ok(
        [true, "true"].includes(plain(provider.inputs.enableServerSideApply)),
        `${p.name}: provider ${provider.name} lacks enableServerSideApply`,
      );
    }
  });

  test("the Jenkins chart values name the admin Secret and keys that Secret actually has", () => {
    const releases = rec.registrations.filter(
      (r) => r.type === "kubernetes:helm.sh/v3:Release" && /jenkins/.test(r.name),
    );
    assert.ok(releases.length >= 1);
    for (const rel of releases) {
      const admin = plain(rel.inputs.values).controller.admin;
      const secret = rec.registrations.find(
        (r) =>
          r.type === "kubernetes:core/v1:Secret" &&
          plain(r.inputs.metadata)?.name === admin.existingSecret &&
          plain(r.inputs.metadata)?.namespace === plain(rel.inputs.namespace),
      );
      assert.ok(secret, `${rel.name}: no Secret ${admin.existingSecret} in its namespace`);
      const keys = Object.keys(plain(secret.inputs.stringData) ?? {});
      for (const k of [admin.userKey, admin.passwordKey])
        assert.ok(
          keys.includes(k),
          `${rel.name}: values key ${k} is not a key of Secret ${admin.existingSecret} (${keys})`,
        );
    }
  });
});
