/**
 * K8sNode alone under mocks (test/harness/pulumi.ts): its steps, their exact inputs, the SSH connection they use,
 * their order and what makes them run again. How the lab wires nodes to VMs is in test/program.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { K8sNode, K8sNodeArgs } from "../components/k8s-node";
import { LabRun, bundleEnv, childrenOf, evaluate, isSecretValue, unwrap } from "./harness/pulumi";

const IP = "192.168.64.31";

/**
 * One K8sNode `platform-worker2` on a VM stood in for by a command `vm` (its stdout is the address, its id the
 * VM's identity), so the node's dependencies on the VM are visible.
 */
const oneNode = (args: Partial<K8sNodeArgs> = {}): Promise<LabRun> =>
  evaluate(() => {
    const vm = new command.local.Command("vm", { create: "run" });
    new K8sNode("platform-worker2", {
      ip: vm.stdout.apply(() => IP),
      vmId: vm.id,
      kubernetesVersion: "1.35",
      ssh: { user: "admin", secrets: { sshPassword: pulumi.secret("admin") } },
      ...args,
    });
  });

const STEPS = ["identity", "prepare", "ready"].map((s) => `platform-worker2-${s}`);

describe("K8sNode", () => {
  test("children: identity, prepare, ready, remote commands under the K8sNode, named after it", async () => {
    const { recorder: rec } = await oneNode();
    const [node] = rec.ofType("tartlab:index:K8sNode");
    assert.deepEqual(
      childrenOf(rec, node).map((r) => `${r.type} ${r.name}`),
      STEPS.map((s) => `command:remote:Command ${s}`),
    );
  });

  test("every step connects to the VM's address over SSH (secret), runs under sudo and carries the VM's id", async () => {
    const { recorder: rec } = await oneNode();
    for (const name of STEPS) {
      const r = rec.byName(name);
      assert.ok(isSecretValue(r.inputs.connection), `${name}: connection (with credentials) is a secret`);
      assert.deepEqual(unwrap(r.inputs.connection), {
        host: IP,
        port: 22,
        user: "admin",
        password: "admin",
        dialErrorLimit: 40,
        perDialTimeout: 15,
      });
      assert.deepEqual(r.propertyDependencies.connection, ["vm"], `${name} waits for the address`);
      // A re-cloned VM is prepared again even at the same IP (a dependsOn would not cascade).
      assert.deepEqual(r.inputs.triggers, ["vm-id"]);
      assert.deepEqual(r.propertyDependencies.triggers, ["vm"]);
      assert.equal(r.inputs.create, "sudo -n bash -s -- create");
      assert.equal(r.inputs.delete, undefined);
    }
  });

  test("identity -> prepare -> ready, nothing else between them", async () => {
    const { recorder: rec } = await oneNode();
    assert.deepEqual(rec.byName("platform-worker2-identity").dependencies, ["vm"]);
    assert.deepEqual([...rec.byName("platform-worker2-prepare").dependencies].sort(), [
      "platform-worker2-identity",
      "vm",
    ]);
    assert.deepEqual([...rec.byName("platform-worker2-ready").dependencies].sort(), [
      "platform-worker2-prepare",
      "vm",
    ]);
  });

  test("K8sNode: exact environment of node prep", async () => {
    const { recorder: rec } = await oneNode();
    for (const name of STEPS) {
      assert.deepEqual(bundleEnv(rec.byName(name).inputs.stdin), {
        K8S_MINOR: "1.35",
        K8S_PATCH: "",
        NODE_NAME: "platform-worker2",
      });
    }
    const exact = (await oneNode({ kubernetesVersion: "1.33.0" })).recorder;
    assert.deepEqual(bundleEnv(exact.byName("platform-worker2-prepare").inputs.stdin), {
      K8S_MINOR: "1.33",
      K8S_PATCH: "1.33.0",
      NODE_NAME: "platform-worker2",
    });
  });

  test("a private key replaces the password", async () => {
    const { recorder: rec } = await oneNode({
      ssh: {
        user: "admin",
        secrets: { sshPassword: pulumi.secret("admin"), sshPrivateKey: pulumi.secret("KEY") },
      },
    });
    const c = unwrap(rec.byName("platform-worker2-identity").inputs.connection);
    assert.equal(c.privateKey, "KEY");
    assert.equal(c.password, undefined);
  });

  test("a golden-image clone (prepared) has no prepare step: ready follows identity", async () => {
    const { recorder: rec } = await oneNode({ prepared: true });
    const [node] = rec.ofType("tartlab:index:K8sNode");
    assert.deepEqual(
      childrenOf(rec, node).map((r) => r.name),
      ["platform-worker2-identity", "platform-worker2-ready"],
    );
    assert.deepEqual([...rec.byName("platform-worker2-ready").dependencies].sort(), [
      "platform-worker2-identity",
      "vm",
    ]);
  });
});
