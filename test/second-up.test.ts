/**
 * `pulumi up` twice changes nothing. At the first build no VM exists, so the drift check finds no address; at the
 * next run it finds every VM where the first run's steps read it. Those two runs must plan the same inputs.
 * Computed on the laptop stack, as the preview simulator plans it (test/harness/preview.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { fakeIp } from "./harness/pulumi";
import { deploy, labProgram, plan, recordsOf } from "./harness/preview";

const stackFile = (): Record<string, unknown> =>
  parse(readFileSync(path.join(__dirname, "..", "Pulumi.small.yaml"), "utf8")).config;
const VMS = ["small-master", "small-worker1"];
/** The laptop stack as shipped, and with the golden image (which needs an exact Kubernetes version). */
const VARIANTS = {
  "": stackFile,
  " (golden image)": () => ({
    ...stackFile(),
    "tartlab:goldenImage": true,
    "tartlab:kubernetesVersion": "1.35.2",
  }),
};

for (const [variant, small] of Object.entries(VARIANTS)) {
  test(`the second up after a first build plans no change, in up and in preview${variant}`, async () => {
    const first = await deploy(labProgram(small()));
    const golden = [...first.resources.values()].some((r) => r.reg.name.startsWith("golden-image-"));
    assert.equal(golden, variant !== "", "the variant builds the golden image, or not");
    const found = {
      addresses: Object.fromEntries(VMS.map((vm) => [vm, fakeIp(vm)])),
      repairs: {},
      messages: [],
    };
    for (const mode of ["up", "preview"] as const) {
      const p = await plan(first, labProgram(small(), recordsOf(first), found), { mode });
      assert.deepEqual(p.summary(), {}, mode);
    }
  });

  test(`after a Mac reboot, preview (no address known for the VMs up will restart) plans what up does: the cluster's Ready check only${variant}`, async () => {
    const first = await deploy(labProgram(small()));
    const found = {
      addresses: Object.fromEntries(VMS.map((vm) => [vm, fakeIp(vm)])),
      repairs: {},
      messages: [],
    };
    const steady = await deploy(labProgram(small(), recordsOf(first), found));
    const rebooted = { addresses: {}, repairs: { small: 2 }, messages: [] };
    const preview = await plan(steady, labProgram(small(), recordsOf(steady), rebooted), { mode: "preview" });
    const up = await plan(
      steady,
      labProgram(small(), recordsOf(steady), { ...found, repairs: { small: 2 } }),
      {
        mode: "up",
      },
    );
    assert.deepEqual(preview.summary(), { update: ["small-nodes-ready"] });
    assert.deepEqual(up.summary(), preview.summary());
  });
}
