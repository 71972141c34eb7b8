/**
 * The laptop lab: Pulumi.small.yaml is valid, fits a 16 GB Mac (fake host facts, MAC_FACTS pattern)
 * and builds the whole program under mocks; the default lab on that Mac is refused with a message that names the
 * small stack and the exact commands.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { HostFacts, SMALL_STACK, checkHost } from "../lib/host";
import { allNodes, validateLabConfig } from "../lib/lab-config";
import { loadStackFile } from "../lib/stack-config";
import { MAC_FACTS, devRawConfig, devStackConfig, runLab, smallStackConfig } from "./harness/pulumi";

const ROOT = path.join(__dirname, "..");
const smallRaw = () =>
  Object.fromEntries(Object.entries(smallStackConfig()).map(([k, v]) => [k.replace(/^tartlab:/, ""), v]));

/** A 16 GB MacBook: macOS reports 16 GiB; 8 cores; 200 GB free. */
const MAC_16: HostFacts = { ...MAC_FACTS, memoryBytes: 16 * 2 ** 30, cpus: 8, freeDiskBytes: 200e9 };
const HINT = "pulumi stack select --create small && pulumi up";

describe("the laptop lab, Pulumi.small.yaml", () => {
  test("passes config validation: one cluster, a control plane and one worker, Jenkins on it", () => {
    const { config } = validateLabConfig(smallRaw());
    assert.deepEqual(
      config.clusters.map((c) => [c.name, c.nodes.map((n) => n.role)]),
      [["small", ["control-plane", "worker"]]],
    );
    assert.deepEqual(config.jenkins, { enabled: true, cluster: "small", nodePort: 32080, retainData: false });
    assert.deepEqual(loadStackFile(ROOT, "small").config, config, "status, stop and start read the same lab");
  });

  test("passes the host preflight on a 16 GB Mac", () => {
    const { config } = validateLabConfig(smallRaw());
    assert.deepEqual(checkHost(MAC_16, config), { problems: [], warnings: [] });
  });

  test("the default lab on that Mac is refused, naming the small stack and the commands", () => {
    const { config } = validateLabConfig(devRawConfig());
    const mem = checkHost(MAC_16, config).problems.filter((p) => p.includes("of memory"));
    assert.equal(mem.length, 1);
    assert.ok(mem[0].includes(HINT), mem[0]);
    assert.match(mem[0], /the stack "small" whose config Pulumi reads from Pulumi\.small\.yaml/);
  });

  test("pulumi up of the default lab on that Mac stops before any resource, with the hint", async () => {
    await assert.rejects(
      runLab(devStackConfig(), { hostFacts: MAC_16 }),
      (e: Error) =>
        e.message.includes("host preflight failed; nothing was created") && e.message.includes(HINT),
    );
  });

  test("the whole program builds the small lab under mocks on that Mac", async () => {
    const { recorder, outputs } = await runLab(smallStackConfig(), { hostFacts: MAC_16 });
    assert.deepEqual(
      recorder.ofType("tartlab:index:TartVm").map((r) => r.name),
      ["small-master", "small-worker1"],
    );
    assert.deepEqual(Object.keys(outputs.kubeconfigs as object), ["small"]);
    assert.ok(recorder.byName("small-host-kubeconfig"));
    assert.equal(recorder.ofType("tartlab:index:Jenkins").length, 1);
  });

  test("SMALL_STACK (the hint's numbers) matches the file", () => {
    const nodes = allNodes(validateLabConfig(smallRaw()).config);
    assert.equal(SMALL_STACK.vms, nodes.length);
    assert.equal(
      SMALL_STACK.memoryMb,
      nodes.reduce((s, { node }) => s + node.memoryMb, 0),
    );
  });

  test("no hint when the small lab would not fit either, or is what was asked for", () => {
    const dev = validateLabConfig(devRawConfig()).config;
    const small = validateLabConfig(smallRaw()).config;
    const mem = (facts: HostFacts, lab = dev) =>
      checkHost(facts, lab).problems.filter((p) => p.includes("of memory"));
    assert.ok(!mem({ ...MAC_16, memoryBytes: 8 * 2 ** 30 })[0].includes("small"));
    assert.ok(!mem({ ...MAC_16, memoryBytes: 10 * 2 ** 30 }, small)[0].includes("laptop lab"));
  });
});
