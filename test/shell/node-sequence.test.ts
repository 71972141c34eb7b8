/**
 * A node's whole sequence on one fake arm64 node, in graph order, with exactly the stdin bundles the components
 * send (recorded under mocks, run as they are: inputs never retyped, and the VM identity check included,
 * so each fake node carries its VM's marker as address.sh writes it): identity -> prepare -> ready ->
 * init (control plane) / join (worker). The `ready` stdout a step really printed is fed back into the program,
 * as Pulumi would, before the init/join inputs are read. A tool that verify.sh or kubeadm needs but prepare.sh
 * never installs fails here.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeNode, LOGIN_USER, fakeNode } from "../harness/node";
import { FAKE_CA_HASH, Recorder, defaultStdout, dependsOn, runLab, unwrap } from "../harness/pulumi";
import { soloStackConfig } from "../harness/stacks";
import { ShellRun, sandboxesPerTest } from "../harness/shell";
import { ok } from "../harness/steps";

const newSandbox = sandboxesPerTest();

/** The stdin bundle a recorded command sends, exactly. */
const stdinOf = (rec: Recorder, name: string): string => unwrap(rec.byName(name).inputs.stdin);
/** pulumi-command stores stdout without its last newline. */
const stored = (r: ShellRun) => r.stdout.replace(/\n$/, "");

async function check(step: string, r: ShellRun): Promise<ShellRun> {
  ok(step, r);
  return r;
}

/** identity -> prepare -> ready on a fresh fake node, each step's env from the recorded program. */
async function prepareNode(rec: Recorder, name: string, knobs: Record<string, string> = {}) {
  const sb = newSandbox();
  const node = fakeNode(sb, { arch: "arm64", vm: name });
  const steps = ["identity", "prepare", "ready"];
  for (const [i, step] of steps.entries()) {
    const r = rec.byName(`${name}-${step}`);
    assert.equal(r.inputs.create, "sudo -n bash -s -- create", "runs as root");
    if (i > 0)
      assert.ok(
        dependsOn(rec, `${name}-${step}`, `${name}-${steps[i - 1]}`),
        `${step} after ${steps[i - 1]}`,
      );
  }
  const script = {
    identity: "k8s-node/identity.sh",
    prepare: "k8s-node/prepare.sh",
    ready: "k8s-node/verify.sh",
  };
  let ready: ShellRun | undefined;
  for (const step of steps) {
    ready = await check(
      `${name}-${step}`,
      await node.runBundle(
        script[step as keyof typeof script],
        stdinOf(rec, `${name}-${step}`),
        "create",
        knobs,
      ),
    );
  }
  return { node, ready: stored(ready!) };
}

/** The program again, with the `ready` steps' real stdout instead of the mocks' (what Pulumi would feed on). */
async function withReady(config: Record<string, unknown> | undefined, ready: Record<string, string>) {
  const { recorder } = await runLab(config, {
    stdout: (name) => ready[name] ?? defaultStdout(name),
  });
  return recorder;
}

function controlPlaneChecks(node: FakeNode) {
  const kubelet = `v${node.installed("kubelet")!.split("-")[0]}`;
  // The control plane runs the installed version, not what dl.k8s.io's stable-1 would have said.
  assert.match(
    node.file("etc/kubernetes/manifests/kube-apiserver.yaml"),
    new RegExp(`kube-apiserver:${kubelet}$`, "m"),
  );
  assert.equal(node.file(`home/${LOGIN_USER}/.kube/config`), node.file("etc/kubernetes/admin.conf"), "V10");
}

describe("a node's whole sequence with the env the components pass (arm64)", () => {
  // dl.k8s.io's stable-1 would name a newer patch than the one installed.
  const knobs = { FAKE_DL_STABLE: "v1.35.9" };

  test("control plane: identity -> prepare -> ready -> init", async () => {
    const first = (await runLab()).recorder;
    const cp = await prepareNode(first, "dev-master", knobs);
    assert.equal(cp.ready, "v1.35.2");
    assert.match(cp.node.file("etc/apt/sources.list.d/kubernetes.list"), /^deb \[arch=arm64 /);

    const rec = await withReady(undefined, { "dev-master-ready": cp.ready });
    assert.ok(dependsOn(rec, "dev-init", "dev-master-ready"));
    await check(
      "dev-init",
      await cp.node.runBundle("kubeadm-cluster/init.sh", stdinOf(rec, "dev-init"), "create", knobs),
    );
    controlPlaneChecks(cp.node);
    assert.equal(
      cp.node.file("etc/kubernetes/fake-node-taints"),
      "node-role.kubernetes.io/control-plane:NoSchedule\n",
      "dev has a worker: the control plane keeps its taint",
    );
  });

  test("worker: identity -> prepare -> ready -> join, with the control plane's version", async () => {
    const first = (await runLab()).recorder;
    const cp = await prepareNode(first, "dev-master");
    const worker = await prepareNode(first, "dev-worker1");
    const rec = await withReady(undefined, {
      "dev-master-ready": cp.ready,
      "dev-worker1-ready": worker.ready,
    });
    for (const before of ["dev-dev-worker1-netcheck", "dev-dev-worker1-join-token"]) {
      assert.ok(dependsOn(rec, "dev-dev-worker1-join", before), `join after ${before}`);
    }
    assert.ok(dependsOn(rec, "dev-dev-worker1-join", "dev-worker1-ready"));
    const join = await worker.node.runBundle(
      "kubeadm-cluster/join.sh",
      stdinOf(rec, "dev-dev-worker1-join"),
      "create",
      { FAKE_CLUSTER_CA_HASH: FAKE_CA_HASH },
    );
    await check("dev-dev-worker1-join", join);
    assert.ok(worker.node.file("etc/kubernetes/kubelet.conf"));
    assert.ok(!worker.node.has("node"), "no host tool on the node's PATH");
  });

  test("a one-node cluster: its control plane is left untainted", async () => {
    const config = soloStackConfig();
    const cp = await prepareNode((await runLab(config)).recorder, "solo-master", knobs);
    const rec = await withReady(config, { "solo-master-ready": cp.ready });
    await check(
      "solo-init",
      await cp.node.runBundle("kubeadm-cluster/init.sh", stdinOf(rec, "solo-init"), "create", knobs),
    );
    controlPlaneChecks(cp.node);
    assert.equal(cp.node.file("etc/kubernetes/fake-node-taints"), "none\n");
  });
});
