/**
 * Node side: a VM's address changed and the lab follows it. One cluster (dev-master initialised,
 * dev-worker1 joined) on fake Ubuntu nodes sharing one fake API server state (FAKE_CLUSTER); then the program is
 * recorded again with new addresses and the control plane's `init` and the worker's `join` run again with exactly
 * the environment the components pass. Effects are asserted in files: manifests, kubeconfigs, kubelet flags,
 * certificate SANs (openssl -checkip), the kubeadm-config and cluster-info ConfigMaps, kubelet restarts.
 * The fake API server answers only when the control plane's manifests, certificate and kubelet fit the address
 * (test/fakes/node/tools/kubectl), so a half-done re-address fails here as it would on a real node.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { FakeNode, Snapshot, fakeNode, snapshot } from "../harness/node";
import { FAKE_CA_HASH, Recorder, defaultStdout, fakeIp, runLab } from "../harness/pulumi";
import { devClusterStackConfig } from "../harness/stacks";
import { Sandbox, ShellRun, sandbox } from "../harness/shell";
import { envOf, ok } from "../harness/steps";

/** The lab's sandboxes and their snapshot: built by the first test, restored for every other one. */
const sandboxes: Sandbox[] = [];
let built: { lab: Lab; snap: Snapshot } | undefined;
after(() => {
  built?.snap.dispose();
  for (const sb of sandboxes.splice(0)) sb.dispose();
});

const OLD_CP = fakeIp("dev-master");
const OLD_WORKER = fakeIp("dev-worker1");
const NEW_CP = "192.168.64.201";
const NEW_WORKER = "192.168.64.202";

const programs = new Map<string, Promise<Recorder>>();
/**
 * The recorded program with these VM addresses (what the address steps, or the drift check, report); recorded
 * once per set of addresses: tests only read a recorder.
 */
function programWith(ips: Record<string, string> = {}): Promise<Recorder> {
  const key = JSON.stringify(ips);
  let program = programs.get(key);
  if (!program) {
    program = runLab(devClusterStackConfig(), {
      stdout: (n) => {
        const vm = n.replace(/-(start|address)$/, "");
        return vm !== n && ips[vm] ? ips[vm] : defaultStdout(n);
      },
    }).then((r) => r.recorder);
    programs.set(key, program);
  }
  return program;
}

interface Lab {
  readonly cp: FakeNode;
  readonly worker: FakeNode;
  readonly cluster: string;
  readonly knobs: Record<string, string>;
  run(
    node: FakeNode,
    rec: Recorder,
    step: string,
    script: string,
    extra?: Record<string, string>,
  ): Promise<ShellRun>;
  configMap(namespace: string, name: string): string;
}

/**
 * dev-master initialised and dev-worker1 joined at the first addresses. Built once; each later call puts both
 * nodes and the cluster back as they were then.
 */
async function lab(): Promise<Lab> {
  if (built) {
    built.snap.restore();
    return built.lab;
  }
  const make = (hostname: string) => {
    const sb = sandbox();
    sandboxes.push(sb);
    return fakeNode(sb, { hostname });
  };
  const cp = make("dev-master");
  const worker = make("dev-worker1");
  const cluster = path.join(cp.root, "..", "fake-cluster");
  mkdirSync(path.join(cluster, "nodes"), { recursive: true });
  const knobs = {
    FAKE_CLUSTER: cluster,
    RETRY_PAUSE_SECONDS: "0",
    FAKE_CLUSTER_CA_HASH: FAKE_CA_HASH,
    POLL_SECONDS: "0",
  };
  const first = await programWith();
  for (const [node, vm] of [
    [cp, "dev-master"],
    [worker, "dev-worker1"],
  ] as const) {
    ok(`${vm} prepare`, await node.run("k8s-node/prepare.sh", envOf(first, `${vm}-prepare`), knobs));
  }
  setNodeIp(cp, OLD_CP);
  ok("init", await cp.run("kubeadm-cluster/init.sh", envOf(first, "dev-init"), knobs));
  ok("join", await worker.run("kubeadm-cluster/join.sh", envOf(first, "dev-dev-worker1-join"), knobs));
  const l: Lab = {
    cp,
    worker,
    cluster,
    knobs,
    run: (node, rec, step, script, extra = {}) => {
      const env = envOf(rec, step);
      // A joined worker's CA is this cluster's: the hash join-token.sh would print for it.
      if (node === worker && env.CA_CERT_HASH) env.CA_CERT_HASH = caHash(worker);
      return node.run(script, env, { ...knobs, ...extra });
    },
    configMap: (ns, name) => readFileSync(path.join(cluster, "configmaps", ns, `${name}.yaml`), "utf8"),
  };
  built = { lab: l, snap: snapshot(sandboxes.map((sb) => sb.dir)) };
  return l;
}

/** The address the control plane VM really has now (what its static pods can bind). */
function setNodeIp(node: FakeNode, ip: string) {
  writeFileSync(path.join(node.root, "run/fake-node-ip"), `${ip}\n`);
}

/**
 * The discovery hash of the worker's CA (sha256 of its SubjectPublicKeyInfo): what join-token.sh prints on the
 * control plane of this cluster, in place of the recorded program's fake hash.
 */
function caHash(node: FakeNode): string {
  const spki = createPublicKey(readFileSync(path.join(node.root, "etc/kubernetes/pki/ca.crt"))).export({
    type: "spki",
    format: "der",
  });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/** Every file kubeadm ties an address into, by path relative to the node's root. */
function addressFiles(node: FakeNode): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(node.root, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs)) walk(path.join(rel, e));
    } else out[rel] = readFileSync(abs, "utf8");
  };
  walk("etc/kubernetes");
  walk("var/lib/kubelet");
  return out;
}

/** True when the certificate names the IP among its SANs. */
function certCovers(node: FakeNode, rel: string, ip: string): boolean {
  const out = execFileSync("openssl", ["x509", "-noout", "-in", path.join(node.root, rel), "-checkip", ip], {
    encoding: "utf8",
  });
  return /does match certificate/.test(out);
}

const CERTS = [
  "etc/kubernetes/pki/apiserver.crt",
  "etc/kubernetes/pki/etcd/server.crt",
  "etc/kubernetes/pki/etcd/peer.crt",
];
const ipRe = (ip: string) => new RegExp(`(^|[^0-9.])${ip.replace(/\./g, "\\.")}([^0-9.]|$)`, "m");

describe("a control plane whose VM got another address is re-addressed by init.sh", () => {
  test("manifests, kubeconfigs, kubelet node-ip, certificates and both ConfigMaps carry only the new address", async () => {
    const l = await lab();
    for (const c of CERTS) assert.ok(certCovers(l.cp, c, OLD_CP), `${c} is for the first address`);
    const rec = await programWith({ "dev-master": NEW_CP });
    setNodeIp(l.cp, NEW_CP);
    const starts = l.cp.starts("kubelet");
    const r = await l.run(l.cp, rec, "dev-init", "kubeadm-cluster/init.sh");
    ok("re-address", r);
    assert.match(r.stderr, new RegExp(`dev-master re-addressed from ${OLD_CP} to ${NEW_CP}`));
    const files = addressFiles(l.cp);
    for (const f of [
      "etc/kubernetes/manifests/kube-apiserver.yaml",
      "etc/kubernetes/manifests/etcd.yaml",
      "etc/kubernetes/admin.conf",
      "etc/kubernetes/super-admin.conf",
      "etc/kubernetes/kubelet.conf",
      "etc/kubernetes/controller-manager.conf",
      "etc/kubernetes/scheduler.conf",
      "var/lib/kubelet/kubeadm-flags.env",
    ]) {
      assert.match(files[f], ipRe(NEW_CP), `${f} names the new address`);
    }
    for (const [f, text] of Object.entries(files)) {
      assert.doesNotMatch(text, ipRe(OLD_CP), `${f} still names the old address`);
    }
    assert.match(
      files["etc/kubernetes/manifests/kube-apiserver.yaml"],
      new RegExp(`--advertise-address=${NEW_CP}$`, "m"),
    );
    assert.match(
      files["etc/kubernetes/manifests/etcd.yaml"],
      new RegExp(`--listen-peer-urls=https://${NEW_CP}:2380$`, "m"),
    );
    assert.match(files["var/lib/kubelet/kubeadm-flags.env"], new RegExp(`--node-ip=${NEW_CP}"`));
    for (const c of CERTS) {
      assert.ok(certCovers(l.cp, c, NEW_CP), `${c} has the new address`);
      assert.ok(!certCovers(l.cp, c, OLD_CP), `${c} no longer has the old address`);
    }
    assert.match(
      l.configMap("kube-public", "cluster-info"),
      new RegExp(`server: https://${NEW_CP}:6443$`, "m"),
    );
    assert.doesNotMatch(l.configMap("kube-public", "cluster-info"), ipRe(OLD_CP));
    const kubeadmConfig = l.configMap("kube-system", "kubeadm-config");
    assert.match(kubeadmConfig, new RegExp(`controlPlaneEndpoint: ${NEW_CP}:6443`));
    assert.match(kubeadmConfig, /kubernetesVersion: v1\.35\.2/);
    assert.ok(l.cp.starts("kubelet") > starts, "kubelet restarted");
    assert.equal(
      l.cp.file("home/admin/.kube/config"),
      l.cp.file("etc/kubernetes/admin.conf"),
      "the login user's kubeconfig follows (V10)",
    );
    assert.ok(!existsSync(path.join(l.cp.root, "etc/tartlab/readdress-from")), "nothing left to resume");

    // Run again (Pulumi re-runs a step whose create failed after this point, or the next up): nothing changes.
    const again = await l.run(l.cp, rec, "dev-init", "kubeadm-cluster/init.sh");
    ok("re-run", again);
    assert.deepEqual(addressFiles(l.cp), files);
    assert.doesNotMatch(again.stderr, /re-address/);
  });

  test("unchanged address: a re-run touches nothing and restarts nothing", async () => {
    const l = await lab();
    const before = addressFiles(l.cp);
    const cm = l.configMap("kube-public", "cluster-info");
    const starts = l.cp.starts("kubelet");
    const r = await l.run(l.cp, await programWith(), "dev-init", "kubeadm-cluster/init.sh");
    ok("re-run", r);
    assert.match(r.stderr, /already initialised; not running kubeadm init again/);
    assert.doesNotMatch(r.stderr, /re-address/);
    assert.deepEqual(addressFiles(l.cp), before);
    assert.equal(l.configMap("kube-public", "cluster-info"), cm);
    assert.equal(l.cp.starts("kubelet"), starts);
  });

  test("an API server that does not answer at the new address: clear failure after its deadline; the next run resumes", async () => {
    const l = await lab();
    const rec = await programWith({ "dev-master": NEW_CP });
    setNodeIp(l.cp, NEW_CP);
    const r = await l.run(l.cp, rec, "dev-init", "kubeadm-cluster/init.sh", {
      FAKE_APISERVER_DOWN: "1",
      APISERVER_WAIT_SECONDS: "0",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `after re-addressing, the API server of dev-master did not answer at https://${NEW_CP.replace(/\./g, "\\.")}:6443 \\(kubectl get --raw=/readyz with /etc/kubernetes/admin.conf\\) within 0s; last error: The connection to the server`,
      ),
    );
    assert.equal(l.cp.file("etc/tartlab/readdress-from"), `${OLD_CP}\n`, "the old address is kept to resume");
    assert.match(
      l.configMap("kube-public", "cluster-info"),
      ipRe(OLD_CP),
      "not updated before the API answers",
    );

    const resumed = await l.run(l.cp, rec, "dev-init", "kubeadm-cluster/init.sh");
    ok("resume", resumed);
    assert.match(
      l.configMap("kube-public", "cluster-info"),
      new RegExp(`server: https://${NEW_CP}:6443$`, "m"),
    );
    assert.match(
      l.configMap("kube-system", "kubeadm-config"),
      new RegExp(`controlPlaneEndpoint: ${NEW_CP}:6443`),
    );
    for (const c of CERTS) assert.ok(certCovers(l.cp, c, NEW_CP), c);
  });

  test("a failing kubeadm step names itself and shows its log", async () => {
    const l = await lab();
    const rec = await programWith({ "dev-master": NEW_CP });
    setNodeIp(l.cp, NEW_CP);
    const r = await l.run(l.cp, rec, "dev-init", "kubeadm-cluster/init.sh", { FAKE_UPLOAD_CONFIG_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /re-addressing dev-master: kubeadm init phase upload-config kubeadm failed or took over 30s/,
    );
    assert.match(r.stderr, /error uploading the kubeadm ClusterConfiguration/);
  });
});

describe("a joined worker is re-pointed by join.sh when an address changed", () => {
  /** The lab after the control plane moved to NEW_CP (and the worker, if `workerIp`), init re-run. */
  async function moved(workerIp?: string) {
    const l = await lab();
    const rec = await programWith({ "dev-master": NEW_CP, ...(workerIp ? { "dev-worker1": workerIp } : {}) });
    setNodeIp(l.cp, NEW_CP);
    ok("re-address", await l.run(l.cp, rec, "dev-init", "kubeadm-cluster/init.sh"));
    return { l, rec };
  }

  test("control plane and worker moved: kubelet.conf's server and the kubelet's node-ip follow, kubelet restarted", async () => {
    const { l, rec } = await moved(NEW_WORKER);
    const env = envOf(rec, "dev-dev-worker1-join");
    assert.equal(env.NODE_IP, NEW_WORKER);
    assert.equal(env.API_SERVER_ENDPOINT, `${NEW_CP}:6443`);
    const starts = l.worker.starts("kubelet");
    const r = await l.run(l.worker, rec, "dev-dev-worker1-join", "kubeadm-cluster/join.sh");
    ok("re-point", r);
    assert.match(r.stderr, /dev-worker1 has joined this cluster and was re-pointed/);
    assert.match(
      l.worker.file("etc/kubernetes/kubelet.conf"),
      new RegExp(`^    server: https://${NEW_CP}:6443$`, "m"),
    );
    assert.doesNotMatch(l.worker.file("etc/kubernetes/kubelet.conf"), ipRe(OLD_CP));
    const flags = l.worker.file("var/lib/kubelet/kubeadm-flags.env");
    assert.match(flags, new RegExp(`--node-ip=${NEW_WORKER}"`));
    assert.doesNotMatch(flags, ipRe(OLD_WORKER));
    assert.ok(l.worker.starts("kubelet") > starts, "kubelet restarted");
    // The sandbox's call log holds the first join too: still exactly one join, and no reset.
    assert.equal(r.calls.filter((c) => c.startsWith("kubeadm join")).length, 1, "no rejoin");
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm reset")), "no reset");

    const after = addressFiles(l.worker);
    const restarts = l.worker.starts("kubelet");
    const again = await l.run(l.worker, rec, "dev-dev-worker1-join", "kubeadm-cluster/join.sh");
    ok("re-run", again);
    assert.match(again.stderr, /already joined this cluster; not joining again/);
    assert.deepEqual(addressFiles(l.worker), after);
    assert.equal(l.worker.starts("kubelet"), restarts);
  });

  test("only the control plane moved: only the server changes", async () => {
    const { l, rec } = await moved();
    ok("re-point", await l.run(l.worker, rec, "dev-dev-worker1-join", "kubeadm-cluster/join.sh"));
    assert.match(
      l.worker.file("etc/kubernetes/kubelet.conf"),
      new RegExp(`server: https://${NEW_CP}:6443$`, "m"),
    );
    assert.match(l.worker.file("var/lib/kubelet/kubeadm-flags.env"), new RegExp(`--node-ip=${OLD_WORKER}"`));
  });

  test("nothing moved: the worker is left exactly as it was", async () => {
    const l = await lab();
    const before = addressFiles(l.worker);
    const starts = l.worker.starts("kubelet");
    const r = await l.run(l.worker, await programWith(), "dev-dev-worker1-join", "kubeadm-cluster/join.sh");
    ok("re-run", r);
    assert.match(r.stderr, /already joined this cluster; not joining again/);
    assert.deepEqual(addressFiles(l.worker), before);
    assert.equal(l.worker.starts("kubelet"), starts);
  });

  test("a worker whose kubelet cannot reach the API server at the new address fails after its deadline", async () => {
    const { l, rec } = await moved(NEW_WORKER);
    const r = await l.run(l.worker, rec, "dev-dev-worker1-join", "kubeadm-cluster/join.sh", {
      FAKE_APISERVER_DOWN: "1",
      KUBELET_WAIT_SECONDS: "0",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /dev-worker1 was re-pointed \(kubelet\.conf server .* -> https:\/\/192\.168\.64\.201:6443 kubelet --node-ip .* -> 192\.168\.64\.202\), but within 0s kubelet did not run and reach the API server/,
    );
  });
});
