/**
 * `set -euo pipefail` proven by what the scripts do, not by their text (test/scripts.test.ts only checks the line
 * is there): for a representative set (a node's preparation, a worker's join, the Mac's kubeconfig step), a failing
 * command, a failing command at the head of a pipeline and an unset variable each end the script, nonzero, before
 * its next effect. Each test names the option it proves; without that option the script would go on.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { stringify } from "yaml";
import { fakeNode } from "../harness/node";
import { JOIN_ENV, fakeKubeadm } from "../harness/kubeadm";
import { Sandbox, sandbox } from "../harness/shell";

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.dispose());

const prepareEnv = { NODE_NAME: "dev-worker1", K8S_MINOR: "1.35", K8S_PATCH: "" };

describe("k8s-node/prepare.sh", () => {
  test("-e: a failing command (modprobe of a module the kernel lacks) ends it before the sysctls and apt", async () => {
    const node = fakeNode(sb);
    const r = await node.run("k8s-node/prepare.sh", prepareEnv, { FAKE_MODPROBE_MISSING: "br_netfilter" });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /modprobe: FATAL: Module br_netfilter not found/);
    assert.ok(r.calls.includes("modprobe br_netfilter"), "it got that far");
    assert.ok(!existsSync(path.join(node.root, "etc/sysctl.d/99-tartlab-k8s.conf")), "no sysctl file");
    assert.deepEqual(
      r.calls.filter((c) => /^(sysctl|apt-get|curl) /.test(c)),
      [],
      "nothing after the failed command ran",
    );
  });

  test("pipefail: `containerd config default` failing after printing a config fails its pipeline; nothing is written", async () => {
    const node = fakeNode(sb);
    const r = await node.run("k8s-node/prepare.sh", prepareEnv, { FAKE_CONTAINERD_CONFIG_EXIT: "1" });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /dev-worker1: containerd config default failed \(containerd containerd github\.com/,
    );
    const dir = path.join(node.root, "etc/containerd");
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], "no config, no staged file");
    assert.equal(node.starts("containerd"), 1, "started once by its package, never restarted");
    assert.ok(!r.calls.includes("systemctl restart containerd"));
    assert.doesNotMatch(r.stderr, /prepared:/);
  });
});

describe("kubeadm-cluster/join.sh", () => {
  test("-e: a failing mkdir of /etc/tartlab ends it before the join config is written and kubeadm join runs", async () => {
    const node = fakeNode(sb);
    fakeKubeadm(sb, "exit 0");
    // A file where the directory should be: mkdir -p fails with "File exists".
    writeFileSync(path.join(node.root, "etc/tartlab"), "");
    const r = await node.run(
      "kubeadm-cluster/join.sh",
      JOIN_ENV,
      // The sandbox's fake kubeadm before the node's PATH (the node has none before preparation).
      { PATH: `${sb.bin}:${node.processEnv.PATH}` },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mkdir: .*etc\/tartlab.*File exists/);
    assert.deepEqual(
      r.calls.filter((c) => c.startsWith("kubeadm ") && c !== "kubeadm version -o short"),
      [],
      "no kubeadm join",
    );
  });
});

describe("kubeadm-cluster/host-kubeconfig.sh (on the Mac)", () => {
  const env = {
    CLUSTER_NAME: "dev",
    KUBECONFIG_CONTENT: "apiVersion: v1\nkind: Config\n",
    KUBECONFIG_MERGE: "true",
    SET_CURRENT_CONTEXT: "false",
    TARTLAB_PROJECT_DIR: path.join(__dirname, "..", ".."),
  };
  /** The user's kubeconfig, with an entry of its own; the merge would add tartlab-dev to it. */
  const userConfig = () => {
    const file = path.join(sb.home, ".kube", "config");
    mkdirSync(path.dirname(file), { recursive: true });
    const text = stringify({ apiVersion: "v1", kind: "Config", clusters: [], contexts: [], users: [] });
    writeFileSync(file, text, { mode: 0o600 });
    return { file, text };
  };
  // `node` records its call (the merge) and runs nothing; `mkdir` refuses, so even a script that went on could
  // create nothing outside the sandbox (HOME unset would make it ~/.tartlab at /).
  const guard = () => {
    sb.fake("node", "exit 0");
    sb.fake("mkdir", 'echo "mkdir: $*: refused by the test" >&2; exit 1');
  };

  test("-u: an unset HOME (no TARTLAB_HOME) ends it at once: nothing made, no merge", async () => {
    const user = userConfig();
    guard();
    const r = await sb.run({
      script: "kubeadm-cluster/host-kubeconfig.sh",
      env,
      // Node's spawn leaves out a variable whose value is undefined: HOME is unset, not empty.
      processEnv: { HOME: undefined as unknown as string },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /HOME: unbound variable/);
    assert.deepEqual(r.calls, [], "no mkdir, no merge");
    assert.equal(readFileSync(user.file, "utf8"), user.text);
  });

  test("-e: a kube directory that cannot be made ends it before the merge into the user's kubeconfig", async () => {
    const user = userConfig();
    guard();
    const r = await sb.run({
      script: "kubeadm-cluster/host-kubeconfig.sh",
      env,
      processEnv: { TARTLAB_HOME: path.join(sb.dir, "tartlab-home") },
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mkdir: .*refused by the test/);
    assert.ok(!r.calls.some((c) => c.startsWith("node ")), "no merge");
    assert.equal(readFileSync(user.file, "utf8"), user.text);
    assert.ok(!existsSync(path.join(sb.dir, "tartlab-home")));
  });
});
