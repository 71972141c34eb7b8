/**
 * The golden image as plans (test/harness/preview.ts) on the laptop stack (Pulumi.small.yaml, 2 VMs): a change
 * that digests into the golden image's name, or switching it on or off, never clones an existing VM again; the lab
 * changes exactly as it does without the golden image, and only new VMs clone the newest image, the one of their
 * own Kubernetes version. Each config is evaluated once in this file and shared.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { GOLDEN_PREFIX } from "../lib/node-image";
import { bundleEnv, unwrap } from "./harness/pulumi";
import { LabPlanOptions, Plan, State, deployLab, foundIn, planLab, recordsOf } from "./harness/preview";

type Config = Record<string, any>;
const MODES = ["up", "preview"] as const;
const WORKER2 = { name: "small-worker2", role: "worker", cpus: 2, memoryMb: 2048, diskGb: 25 };

const small = (): Config =>
  parse(readFileSync(path.join(__dirname, "..", "Pulumi.small.yaml"), "utf8")).config;
/** The laptop stack at an exact version, golden image on or off, with `mutate` applied. */
function lab(golden: boolean, mutate: (c: Config) => void = () => {}): Config {
  const c = { ...small(), "tartlab:kubernetesVersion": "1.35.2", "tartlab:goldenImage": golden };
  mutate(c);
  return c;
}
const cluster = (c: Config) => c["tartlab:clusters"][0];
const bumpCilium = (c: Config) => (c["tartlab:ciliumVersion"] = "1.19.9");
const bumpPatch = (c: Config) => (c["tartlab:kubernetesVersion"] = "1.35.3");
const addWorker = (c: Config) => cluster(c).nodes.push(WORKER2);

/** The state after `pulumi up` of `config` over a lab that wrote `records` (the upgrade step prints `version`). */
const upAt = (config: Config, records = {}, version = "v1.35.2") =>
  deployLab({ config, records }, { "small-upgrade": version });
/** What `pulumi up` (or preview) of `config` does to a deployed lab, with the records it wrote on the Mac. */
const planOf = (state: State, config: Config, opts?: LabPlanOptions): Promise<Plan> =>
  planLab(state, { config, records: recordsOf(state), drift: foundIn(state) }, opts);

/** The decoded script environment of a stored Command. */
function envOf(state: State, name: string): Record<string, string> {
  const r = [...state.resources.values()].find((s) => s.reg.name === name && s.reg.custom);
  assert.ok(r, `no resource ${name}`);
  return bundleEnv(unwrap(r.reg.inputs.stdin));
}
/** The Kubernetes version a golden image was baked for, read from its name (tartlab-golden-1-35-2-<digest>). */
function bakedVersion(image: string): string {
  const m = new RegExp(`^${GOLDEN_PREFIX}(\\d+)-(\\d+)-(\\d+)-[0-9a-f]{16}$`).exec(image);
  assert.ok(m, `${image} is not a golden image`);
  return m.slice(1).join(".");
}
/** Every VM of a state with the image it was cloned from and the version its readiness step verifies. */
function clonesOf(state: State): { vm: string; image: string; verifies: string }[] {
  return [...state.resources.values()]
    .filter((s) => s.reg.custom && s.reg.name.endsWith("-clone"))
    .map((s) => {
      const vm = s.reg.name.slice(0, -"-clone".length);
      return {
        vm,
        image: envOf(state, s.reg.name).BASE_IMAGE,
        verifies: envOf(state, `${vm}-ready`).K8S_PATCH,
      };
    });
}

let golden: State;
let plain: State;
before(async () => {
  [golden, plain] = [await upAt(lab(true)), await upAt(lab(false))];
});

describe("a change that makes a new golden image changes the lab exactly as without the golden image", () => {
  // The golden image of a version no VM clones any more leaves the stack (the Tart image stays for its clones).
  for (const [what, change, dropped] of [
    ["a Cilium patch: the 1.35.2 image's step leaves the stack", bumpCilium, ["golden-image-1-35-2"]],
    ["a Kubernetes patch (the cluster's upgrade steps): the nodes keep their 1.35.2 image", bumpPatch, []],
  ] as const) {
    test(`${what}; no VM is cloned again and the plan is the one without the golden image`, async () => {
      for (const mode of MODES) {
        const withGolden = await planOf(golden, lab(true, change), { mode });
        const without = await planOf(plain, lab(false, change), { mode });
        assert.ok(Object.keys(without.summary()).length > 0, `${mode}: the change does something`);
        assert.deepEqual(withGolden.names("replace"), [], mode);
        assert.deepEqual(
          withGolden.summary(),
          dropped.length > 0 ? { ...without.summary(), delete: [...dropped] } : without.summary(),
          `${mode}: as without the golden image`,
        );
      }
    });
  }

  test("switching the golden image on changes nothing; switching it off only drops its step (the image stays for its clones)", async () => {
    for (const mode of MODES) {
      assert.deepEqual((await planOf(plain, lab(true), { mode })).summary(), {}, `${mode}: on`);
      assert.deepEqual(
        (await planOf(golden, lab(false), { mode })).summary(),
        { delete: ["golden-image-1-35-2"] },
        `${mode}: off`,
      );
    }
  });
});

describe("only new VMs clone the newest image, the one of their own version", () => {
  test("after a Cilium patch, a new worker clones the newly baked image; the existing VMs keep theirs", async () => {
    const bumped = await upAt(lab(true, bumpCilium), recordsOf(golden));
    const grown = lab(true, (c) => (bumpCilium(c), addWorker(c)));
    const p = await planOf(bumped, grown);
    assert.ok(p.names("create").includes("golden-image-1-35-2"), "the newest image is baked for the new VM");
    assert.deepEqual(p.names("replace"), []);
    const after = await upAt(grown, recordsOf(bumped));
    const image = new Map(clonesOf(after).map((c) => [c.vm, c.image]));
    assert.equal(image.get("small-worker2"), envOf(after, "golden-image-1-35-2").GOLDEN_NAME);
    assert.notEqual(image.get("small-worker2"), image.get("small-worker1"));
    assert.equal(image.get("small-worker1"), envOf(golden, "small-worker1-clone").BASE_IMAGE);
  });

  test("after a Kubernetes patch, every VM (kept, rebuilt or new) clones the image of the version its steps verify", async () => {
    const upgraded = await upAt(lab(true, bumpPatch), recordsOf(golden), "v1.35.3");
    for (const c of clonesOf(upgraded)) assert.equal(bakedVersion(c.image), c.verifies, c.vm);
    // A rebuilt worker is cloned from the image of the version it is prepared at (its upgrade steps follow).
    const rebuilt = await planOf(upgraded, lab(true, bumpPatch), { replace: ["small-worker1-clone"] });
    assert.ok(rebuilt.names("replace").includes("small-worker1-ready"));
    assert.equal(bakedVersion(envOf(upgraded, "small-worker1-clone").BASE_IMAGE), "1.35.2");
    const grown = await upAt(
      lab(true, (c) => (bumpPatch(c), addWorker(c))),
      recordsOf(upgraded),
      "v1.35.3",
    );
    const clones = clonesOf(grown);
    for (const c of clones) assert.equal(bakedVersion(c.image), c.verifies, c.vm);
    assert.equal(
      clones.find((c) => c.vm === "small-worker2")?.verifies,
      "1.35.3",
      "a new VM: the current version",
    );
  });

  test("a cluster with its own kubernetesVersion clones the golden image of that version", async () => {
    const own = await upAt(lab(true, (c) => (cluster(c).kubernetesVersion = "1.34.4")));
    const clones = clonesOf(own);
    assert.equal(clones.length, 2);
    for (const c of clones) assert.deepEqual([bakedVersion(c.image), c.verifies], ["1.34.4", "1.34.4"], c.vm);
    assert.equal(envOf(own, "golden-image-1-34-4").K8S_PATCH, "1.34.4");
  });
});
