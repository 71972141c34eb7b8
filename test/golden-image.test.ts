import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { GoldenImageInputs, goldenImageInputs, goldenImageName } from "../components/golden-image";
import { GOLDEN_PREFIX } from "../lib/node-image";
import { LabConfigError, validateLabConfig } from "../lib/lab-config";
import { HELPERS_FILE, SCRIPTS_DIR, withHelpers } from "../lib/shell";
import { VERSIONS } from "../lib/versions";
import { Recorder, bundleEnv, devRawConfig, devStackConfig, sharedLab, unwrap } from "./harness/pulumi";

const GOLDEN_ON = {
  ...devStackConfig(),
  "tartlab:goldenImage": true,
  "tartlab:kubernetesVersion": "1.35.2",
};
/** The default lab with the switch set to false (each lab below is evaluated once and shared: sharedLab). */
const GOLDEN_OFF = { ...devStackConfig(), "tartlab:goldenImage": false };
/** Package installs and image pulls, as the node scripts spell them. */
const PACKAGE_OR_PULL = /_apt install|apt-get[^\n]* install|crictl[^\n]* pull|ctr [^\n]*pull|images pull/;
/** What a bundle runs of its own: without the helper functions defined in front of each of its scripts. */
const ownScripts = (stdin: string) =>
  stdin.replaceAll(withHelpers("", readFileSync(path.join(SCRIPTS_DIR, HELPERS_FILE), "utf8")), "");

/** The bake command of the lab's version (the GoldenImage component has the same name). */
const BAKE = "golden-image-1-35-2";
const bakeOf = (rec: Recorder) => rec.ofType("command:local:Command").find((r) => r.name === BAKE)!;
const stdinOf = (rec: Recorder, name: string): string =>
  unwrap((name === BAKE ? bakeOf(rec) : rec.byName(name)).inputs.stdin);

test("golden image on: every new node VM clones the golden image's name, after its bake", async () => {
  const { recorder } = await sharedLab(GOLDEN_ON);
  const name = goldenImageName(
    goldenImageInputs({
      baseImage: VERSIONS.baseImage,
      kubernetesVersion: "1.35.2",
      ciliumVersion: VERSIONS.cilium,
    }),
  );
  assert.ok(name.startsWith(`${GOLDEN_PREFIX}1-35-2-`), name);
  const clones = recorder.registrations.filter((r) => r.name.endsWith("-clone"));
  assert.equal(clones.length, 7);
  for (const c of clones) {
    // An ordering, not an input: a newer golden image must not replace the VMs cloned from this one
    // (test/plans-golden.test.ts).
    assert.deepEqual(c.dependencyUrns, [bakeOf(recorder).urn], c.name);
    assert.deepEqual(c.propertyDependencyUrns.stdin ?? [], [], c.name);
    assert.equal(bundleEnv(unwrap(c.inputs.stdin)).BASE_IMAGE, name, c.name);
    assert.deepEqual(c.inputs.triggers, [name], c.name);
  }
  const bake = bakeOf(recorder);
  assert.equal(bundleEnv(unwrap(bake.inputs.stdin)).GOLDEN_NAME, name);
});

test("golden image on: per-node remote work installs no package and pulls no image; off: it does", async () => {
  const on = (await sharedLab(GOLDEN_ON)).recorder;
  const remote = on.ofType("command:remote:Command");
  assert.ok(remote.length > 20);
  assert.deepEqual(
    remote.filter((r) => r.name.endsWith("-prepare")).map((r) => r.name),
    [],
  );
  // The kubeadm upgrade steps install packages only when the cluster's version changes; on a build
  // they are no-ops. Every other per-node step must not install or pull anything.
  const upgrades = /-(upgrade)$/;
  assert.ok(remote.some((r) => upgrades.test(r.name)));
  for (const r of remote.filter((x) => !upgrades.test(x.name)))
    assert.doesNotMatch(ownScripts(stdinOf(on, r.name)), PACKAGE_OR_PULL, r.name);
  // ready still follows identity: nothing kubeadm runs before the node proved its tools.
  assert.ok(on.byName("dev-worker1-ready").dependencies.includes("dev-worker1-identity"));
  // The packages and images are in the bake, once.
  const bake = bundleEnv(stdinOf(on, BAKE));
  assert.match(bake.PREPARE_SH, PACKAGE_OR_PULL);
  assert.match(bake.PULL_SH, /crictl[^\n]* pull/);

  const off = (await sharedLab(GOLDEN_OFF)).recorder;
  assert.match(ownScripts(stdinOf(off, "dev-worker1-prepare")), PACKAGE_OR_PULL);
});

test("golden image off restores today's graph exactly (as if the key were absent)", async () => {
  const shape = (rec: Recorder) =>
    rec.registrations.map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parent,
      dependencies: [...r.dependencies].sort(),
      propertyDependencies: r.propertyDependencies,
      inputs: r.inputs,
    }));
  const absent = shape((await sharedLab(devStackConfig())).recorder);
  const off = shape((await sharedLab(GOLDEN_OFF)).recorder);
  assert.deepEqual(off, absent);
  assert.ok(absent.some((r) => r.name === "platform-master-prepare"));
  assert.ok(!absent.some((r) => r.name.startsWith("golden-image")));
});

test("the golden image's name changes exactly when one of its inputs changes", () => {
  const base = goldenImageInputs({
    baseImage: VERSIONS.baseImage,
    kubernetesVersion: "1.35.2",
    ciliumVersion: VERSIONS.cilium,
  });
  const name = goldenImageName(base);
  assert.equal(goldenImageName(goldenImageInputs({ ...base })), name, "same inputs, same name");
  assert.equal(goldenImageName({ ...base, images: [...base.images] }), name);
  const changes: [string, GoldenImageInputs][] = [
    ["baseImage", { ...base, baseImage: "ghcr.io/cirruslabs/ubuntu:24.04@sha256:" + "0".repeat(64) }],
    ["kubernetesVersion", { ...base, kubernetesVersion: "1.35.3" }],
    ["ciliumVersion", { ...base, ciliumVersion: "1.19.9" }],
    ["jenkinsChart", { ...base, jenkinsChart: "5.9.54" }],
    ["localPathProvisioner", { ...base, localPathProvisioner: "v0.0.38" }],
    ["images (one more)", { ...base, images: [...base.images, "docker.io/library/busybox:1.37.1"] }],
    ["images (one tag)", { ...base, images: base.images.map((i) => i.replace("2.10.1", "2.10.2")) }],
  ];
  for (const script of Object.keys(base.scripts)) {
    changes.push([
      `script ${script}`,
      { ...base, scripts: { ...base.scripts, [script]: `${base.scripts[script]}\n# changed\n` } },
    ]);
  }
  assert.equal(changes.length, 11);
  const seen = new Set([name]);
  for (const [what, inputs] of changes) {
    const n = goldenImageName(inputs);
    assert.notEqual(n, name, `${what} changed but the name did not`);
    assert.ok(!seen.has(n), `${what}: name collides with another change`);
    seen.add(n);
  }
});

test("tartlab:goldenImage is validated: a boolean, and only with an exact Kubernetes version", () => {
  const problems = (raw: Record<string, unknown>) => {
    try {
      validateLabConfig({ ...devRawConfig(), ...raw });
      return [];
    } catch (e) {
      assert.ok(e instanceof LabConfigError);
      return e.problems;
    }
  };
  assert.deepEqual(problems({ goldenImage: "true", kubernetesVersion: "1.35.2" }), []);
  assert.deepEqual(problems({ goldenImage: false }), []);
  assert.match(
    problems({ goldenImage: "yes" }).join("\n"),
    /tartlab:goldenImage must be true or false, got "yes"/,
  );
  assert.match(
    problems({ goldenImage: true, kubernetesVersion: "1.35" }).join("\n"),
    /tartlab:goldenImage true needs an exact tartlab:kubernetesVersion .*"1\.35"/,
  );
  const ownVersion = (v: string) => {
    const raw = devRawConfig();
    raw.clusters[1].kubernetesVersion = v;
    return problems({ clusters: raw.clusters, goldenImage: true, kubernetesVersion: "1.35.2" });
  };
  assert.deepEqual(ownVersion("1.34.4"), []);
  assert.match(
    ownVersion("1.34").join("\n"),
    /tartlab:goldenImage true needs an exact cluster "dev" kubernetesVersion .*got "1\.34"; set e\.g\. "1\.34\.0"/,
  );
  assert.equal(validateLabConfig(devRawConfig()).config.goldenImage, false);
});
