/**
 * TartVm alone under mocks (test/harness/pulumi.ts): its children, their exact inputs, parents, ordering and
 * replace options, and the `ip` and `vmId` it hands on. How the lab wires VMs is in test/program.test.ts; what a
 * change does to a deployed lab is in test/plans.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as command from "@pulumi/command";
import { TartVm, TartVmArgs } from "../components/tart-vm";
import { loadScript } from "../lib/shell";
import { inspect } from "./harness/outputs";
import {
  LabRun,
  MockOptions,
  bundleEnv,
  childrenOf,
  defaultStdout,
  evaluate,
  fakeIp,
} from "./harness/pulumi";

const ARGS: TartVmArgs = {
  baseImage: "ghcr.io/cirruslabs/ubuntu:24.04",
  cpus: 2,
  memoryMb: 4096,
  diskGb: 25,
  softnetAllow: "0.0.0.0/0",
  ipWaitSeconds: 180,
  owner: "tartlab/dev",
};

/** One TartVm `dev-worker1`; its ip and vmId are the outputs. */
const oneVm = (args: Partial<TartVmArgs> = {}, opts: MockOptions = {}): Promise<LabRun> =>
  evaluate(() => {
    const vm = new TartVm("dev-worker1", { ...ARGS, ...args });
    return { ip: vm.ip, vmId: vm.vmId };
  }, opts);

/** The address step reads another address than the start step prints, so `ip` shows which one it is. */
const READ = "192.168.64.77";
const addressReads = (n: string) => (n.endsWith("-address") ? READ : defaultStdout(n));

describe("TartVm", () => {
  test("children: clone, start, address, local commands under the TartVm, named after it", async () => {
    const { recorder: rec } = await oneVm();
    const [vm] = rec.ofType("tartlab:index:TartVm");
    assert.equal(vm.name, "dev-worker1");
    assert.deepEqual(
      childrenOf(rec, vm).map((r) => `${r.type} ${r.name}`),
      ["clone", "start", "address"].map((s) => `command:local:Command dev-worker1-${s}`),
    );
  });

  test("TartVm: clone, start, address: exact inputs, replace semantics", async () => {
    const { recorder: rec } = await oneVm();
    const clone = rec.byName("dev-worker1-clone");
    const start = rec.byName("dev-worker1-start");
    const address = rec.byName("dev-worker1-address");
    assert.equal(clone.inputs.create, "bash -s -- create");
    assert.equal(clone.inputs.delete, "bash -s -- delete");
    assert.deepEqual(bundleEnv(clone.inputs.stdin), {
      BASE_IMAGE: "ghcr.io/cirruslabs/ubuntu:24.04",
      OWNER: "tartlab/dev",
      STOP_TIMEOUT_SECONDS: "30",
      VM_NAME: "dev-worker1",
    });
    assert.deepEqual(clone.inputs.triggers, ["ghcr.io/cirruslabs/ubuntu:24.04"]);
    assert.equal(clone.options.deleteBeforeReplace, true, "the VM name is reused: old VM must go first");
    assert.deepEqual(start.dependencies, ["dev-worker1-clone"]);
    assert.deepEqual(bundleEnv(start.inputs.stdin), {
      CPUS: "2",
      DISK_GB: "25",
      IP_WAIT_SECONDS: "180",
      MEMORY_MB: "4096",
      SOFTNET_ALLOW: "0.0.0.0/0",
      STOP_SCRIPT: loadScript("tart-vm/stop.sh"),
      STOP_TIMEOUT_SECONDS: "30",
      VM_NAME: "dev-worker1",
    });
    // Size and run options are plain inputs (a change is an update: start.sh restarts gracefully); only a new
    // clone replaces start, which then stops the old VM before the clone is deleted.
    assert.deepEqual(start.inputs.triggers, ["dev-worker1-clone-id"]);
    assert.deepEqual(start.propertyDependencies.triggers, ["dev-worker1-clone"]);
    assert.equal(start.options.deleteBeforeReplace, true);
    // The IP everything reads comes from the address step: inputs a resize never changes. A new VM's current
    // address is what its start step printed (the drift check finds it there at the next run).
    assert.deepEqual(bundleEnv(address.inputs.stdin), {
      VM_NAME: "dev-worker1",
      FOUND_ADDRESS: fakeIp("dev-worker1"),
    });
    assert.deepEqual(address.inputs.triggers, ["dev-worker1-clone-id"]);
    assert.deepEqual([...address.dependencies].sort(), ["dev-worker1-clone", "dev-worker1-start"]);
    assert.equal(address.inputs.delete, undefined);
    assert.equal(address.options.deleteBeforeReplace, false);
  });

  test("ip is what the address step read (never start's output); vmId is the clone's id", async () => {
    for (const preview of [false, true]) {
      const { outputs } = await oneVm({}, { stdout: addressReads, preview });
      const ip = await inspect(outputs.ip as any);
      const vmId = await inspect(outputs.vmId as any);
      if (preview) {
        assert.equal(ip.isKnown, false, "a first preview reads no address");
      } else {
        assert.deepEqual([ip.value, vmId.value], [READ, "dev-worker1-clone-id"]);
      }
    }
  });

  test("a found address (drift check) is an input of the address step; in preview it is ip, known; in up ip is what the step reads", async () => {
    const found = "192.168.64.250";
    for (const preview of [false, true]) {
      const { recorder: rec, outputs } = await oneVm({ address: found }, { stdout: addressReads, preview });
      assert.deepEqual(bundleEnv(rec.byName("dev-worker1-address").inputs.stdin), {
        FOUND_ADDRESS: found,
        VM_NAME: "dev-worker1",
      });
      const ip = await inspect(outputs.ip as any);
      assert.deepEqual([ip.isKnown, ip.value], [true, preview ? found : READ], preview ? "preview" : "up");
    }
  });

  test("a base image made by another step (a golden image's bake): the clone waits for it; only the image's name is an input", async () => {
    const { recorder: rec } = await evaluate(() => {
      const image = new command.local.Command("image", { create: "bake" });
      new TartVm("dev-worker1", { ...ARGS, baseImage: "tartlab-golden-x", baseImageStep: image });
    });
    const clone = rec.byName("dev-worker1-clone");
    // An ordering, not an input: a newer image must not replace a VM cloned from an older one (lib/node-image.ts).
    assert.deepEqual(clone.dependencies, ["image"]);
    assert.deepEqual(clone.propertyDependencies.stdin ?? [], []);
    assert.deepEqual(clone.inputs.triggers, ["tartlab-golden-x"]);
    assert.equal(bundleEnv(clone.inputs.stdin).BASE_IMAGE, "tartlab-golden-x");
  });
});
