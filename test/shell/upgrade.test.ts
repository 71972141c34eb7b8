/**
 * A Kubernetes minor upgrade of one cluster on fake Ubuntu nodes (test/harness/node.ts) sharing one fake API
 * server state (FAKE_CLUSTER, test/fakes/node/tools/kubectl): the control plane's upgrade, then the worker's drain
 * -> upgrade -> uncordon, each with exactly the environment the components pass (decoded from the recorded
 * program). Effects are asserted: versions the fake cluster and packages report, holds, repository, cordon state,
 * evicted pods; and every refusal leaves things as they were.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { tmpdir } from "node:os";
import { after, describe, test } from "node:test";
import { FakeNode, Snapshot, fakeNode, snapshot } from "../harness/node";
import { FAKE_CA_HASH, Recorder, defaultStdout, runLab } from "../harness/pulumi";
import { devClusterStackConfig } from "../harness/stacks";
import { FAKES_DIR, Sandbox, ShellRun, sandbox, sandboxesPerTest } from "../harness/shell";
import { envOf, ok } from "../harness/steps";

const newSandbox = sandboxesPerTest();
/** The labs' own sandboxes and snapshots, by the version they were built at: built once, then restored. */
const labSandboxes: Sandbox[] = [];
const built = new Map<string, { lab: Lab; snap: Snapshot }>();
after(() => {
  for (const b of built.values()) b.snap.dispose();
  for (const sb of labSandboxes.splice(0)) sb.dispose();
});

const KUBERNETES = {
  "1.35": ["1.35.0", "1.35.1", "1.35.2"],
  "1.36": ["1.36.0", "1.36.1"],
  "1.37": ["1.37.0"],
};

const programs = new Map<string, Promise<Recorder>>();
/**
 * The recorded program for the dev cluster at `version`; the control plane's upgrade printed `cpStdout`, each
 * node's readiness step `ready` (the kubeadm its preparation installed). Recorded once each: tests only read it.
 */
function programAt(version: string, cpStdout = "v1.35.2", ready = "v1.35.2"): Promise<Recorder> {
  const key = `${version} ${cpStdout} ${ready}`;
  let program = programs.get(key);
  if (!program) {
    program = runLab(devClusterStackConfig({ kubernetesVersion: version }), {
      stdout: (n) => (n === "dev-upgrade" ? cpStdout : n.endsWith("-ready") ? ready : defaultStdout(n)),
    }).then((r) => r.recorder);
    programs.set(key, program);
  }
  return program;
}

interface Lab {
  readonly cp: FakeNode;
  /** The control plane's sandbox (its call log; runs with options a FakeNode does not pass, e.g. an interruption). */
  readonly cpSandbox: Sandbox;
  readonly worker: FakeNode;
  readonly cluster: string;
  readonly knobs: Record<string, string>;
  /** Runs a script on a node with the env the program passes to `step`, plus extra env. */
  step(
    node: FakeNode,
    rec: Recorder,
    step: string,
    script: string,
    extra?: Record<string, string>,
  ): Promise<ShellRun>;
  kubelet(node: string): string;
  cordoned(node: string): boolean;
  pods(node: string): string[];
}

/**
 * dev-master (initialised) and dev-worker1 (joined), both prepared at `version` (1.35: its newest, v1.35.2), with
 * pods on the worker. Built once per version; each later call puts both nodes and the cluster back as they were.
 */
async function lab(version = "1.35"): Promise<Lab> {
  const ready = built.get(version);
  if (ready) {
    ready.snap.restore();
    return ready.lab;
  }
  const own: Sandbox[] = [];
  const make = (hostname: string) => {
    const sb = sandbox();
    labSandboxes.push(sb);
    own.push(sb);
    return fakeNode(sb, { kubernetes: KUBERNETES, hostname });
  };
  const cp = make("dev-master");
  const worker = make("dev-worker1");
  const cluster = path.join(cp.root, "..", "fake-cluster");
  mkdirSync(path.join(cluster, "nodes"), { recursive: true });
  const knobs = { FAKE_CLUSTER: cluster, RETRY_PAUSE_SECONDS: "0", FAKE_CLUSTER_CA_HASH: FAKE_CA_HASH };
  const exact = version.split(".").length === 3 ? `v${version}` : "v1.35.2";
  const first = await programAt(version, exact, exact);
  for (const [node, vm] of [
    [cp, "dev-master"],
    [worker, "dev-worker1"],
  ] as const) {
    ok(`${vm} prepare`, await node.run("k8s-node/prepare.sh", envOf(first, `${vm}-prepare`), knobs));
  }
  ok("init", await cp.run("kubeadm-cluster/init.sh", envOf(first, "dev-init"), knobs));
  ok("join", await worker.run("kubeadm-cluster/join.sh", envOf(first, "dev-dev-worker1-join"), knobs));
  const pods = path.join(cluster, "nodes", "dev-worker1", "pods");
  writeFileSync(path.join(pods, "cilium-x7k2p"), "daemonset\n");
  writeFileSync(path.join(pods, "cache"), "emptydir\n");
  writeFileSync(path.join(pods, "web"), "plain\n");
  const nodeDir = (n: string) => path.join(cluster, "nodes", n);
  const l: Lab = {
    cp,
    cpSandbox: own[0],
    worker,
    cluster,
    knobs,
    step: (node, rec, step, script, extra = {}) => node.run(script, { ...envOf(rec, step), ...extra }, knobs),
    kubelet: (n) => readFileSync(path.join(nodeDir(n), "kubelet-version"), "utf8").trim(),
    cordoned: (n) => existsSync(path.join(nodeDir(n), "unschedulable")),
    pods: (n) => readdirSync(path.join(nodeDir(n), "pods")).sort(),
  };
  built.set(version, { lab: l, snap: snapshot(own.map((sb) => sb.dir)) });
  return l;
}

const apiServer = (cp: FakeNode) =>
  /kube-apiserver:(v[\d.]+)/.exec(cp.file("etc/kubernetes/manifests/kube-apiserver.yaml"))![1];
const K8S_HELD = ["cri-tools", "kubeadm", "kubectl", "kubelet"];
/** The control plane's upgrade step (dev-upgrade) with the env `rec` records for it: most tests here run it. */
const upgradeCp = (l: Lab, rec: Recorder, extra: Record<string, string> = {}) =>
  l.step(l.cp, rec, "dev-upgrade", "kubeadm-cluster/upgrade-control-plane.sh", extra);

describe("a minor upgrade of one cluster, 1.35 -> 1.36 (kubeadm upgrade apply, then each worker drained, upgraded, uncordoned)", () => {
  test("first build: every upgrade step is a no-op (nothing installed, drained or restarted)", async () => {
    const l = await lab();
    const rec = await programAt("1.35");
    const before = l.cp.starts("kubelet");
    const cp = await upgradeCp(l, rec);
    ok("dev-upgrade", cp);
    assert.equal(cp.stdout, "v1.35.2\n");
    assert.match(cp.stderr, /dev-master already runs v1\.35\.2; nothing to upgrade/);
    for (const [node, step, script] of [
      [l.cp, "dev-dev-worker1-drain", "upgrade-drain"],
      [l.worker, "dev-dev-worker1-upgrade", "upgrade-node"],
      [l.cp, "dev-dev-worker1-uncordon", "upgrade-uncordon"],
    ] as const) {
      ok(step, await l.step(node, rec, step, `kubeadm-cluster/${script}.sh`));
    }
    assert.equal(l.cp.starts("kubelet"), before);
    assert.equal(l.cordoned("dev-worker1"), false);
    assert.deepEqual(l.pods("dev-worker1"), ["cache", "cilium-x7k2p", "web"], "nothing evicted");
  });

  test("control plane, then the worker: versions, holds, repository, drain and uncordon as kubeadm's docs say", async () => {
    const l = await lab();
    const target = await programAt("1.36");
    const cp = await upgradeCp(l, target);
    ok("dev-upgrade", cp);
    assert.equal(cp.stdout, "v1.36.1\n", "prints the exact version the control plane now runs");
    assert.equal(apiServer(l.cp), "v1.36.1");
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(l.cp.installed(p), "1.36.1-1.1", p);
    assert.deepEqual(l.cp.held(), K8S_HELD, "held again after the upgrade");
    assert.equal(l.kubelet("dev-master"), "v1.36.1", "kubelet restarted at the new version");
    assert.match(l.cp.file("etc/apt/sources.list.d/kubernetes.list"), /core:\/stable:\/v1\.36\/deb\//);
    // Calls of this step only (the sandbox log holds node preparation's too, which never unholds).
    const calls = cp.calls.slice(cp.calls.indexOf("apt-mark unhold kubeadm"));
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    assert.ok(at(/^apt-mark unhold kubeadm$/) === 0, "kubeadm unheld");
    assert.ok(at(/^apt-get .* install .*kubeadm$/) > 0, "then installed");
    assert.ok(at(/^apt-mark hold kubeadm$/) > at(/^apt-get .* install .*kubeadm$/), "then held");
    assert.ok(at(/^kubeadm upgrade plan v1\.36\.1$/) > at(/^apt-mark hold kubeadm$/), "then plan");
    assert.ok(at(/^kubeadm upgrade apply -y v1\.36\.1$/) > at(/^kubeadm upgrade plan/), "then apply");
    assert.ok(
      at(/install .*kubelet=1\.36\.1-\*/) > at(/^kubeadm upgrade apply/),
      "kubelet after the control plane",
    );
    assert.ok(at(/^systemctl restart kubelet$/) > at(/install .*kubelet=1\.36\.1-\*/), "kubelet restarted");
    assert.equal(
      l.kubelet("dev-worker1"),
      "v1.35.2",
      "the worker is not touched by the control plane's step",
    );

    // The workers' steps read the version the control plane's step printed.
    const rec = await programAt("1.36", cp.stdout.trim());
    const drain = await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh");
    ok("drain", drain);
    assert.ok(l.cordoned("dev-worker1"));
    assert.deepEqual(l.pods("dev-worker1"), ["cilium-x7k2p"], "evicted all but the DaemonSet's pod");
    assert.ok(
      drain.calls.some((c) =>
        /^kubectl drain dev-worker1 --ignore-daemonsets --delete-emptydir-data --timeout=300s$/.test(c),
      ),
    );

    const node = await l.step(l.worker, rec, "dev-dev-worker1-upgrade", "kubeadm-cluster/upgrade-node.sh");
    ok("worker upgrade", node);
    assert.equal(
      l.worker.file("var/lib/kubelet/fake-config-version").trim(),
      "v1.36.1",
      "kubeadm upgrade node ran",
    );
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(l.worker.installed(p), "1.36.1-1.1", p);
    assert.deepEqual(l.worker.held(), K8S_HELD);
    assert.equal(l.kubelet("dev-worker1"), "v1.36.1");
    assert.ok(l.cordoned("dev-worker1"), "still cordoned until uncordon");

    ok(
      "uncordon",
      await l.step(l.cp, rec, "dev-dev-worker1-uncordon", "kubeadm-cluster/upgrade-uncordon.sh"),
    );
    assert.equal(l.cordoned("dev-worker1"), false);

    // A re-run (e.g. after a later step failed) changes nothing.
    const again = await upgradeCp(l, rec);
    ok("re-run", again);
    assert.equal(again.stdout, "v1.36.1\n");
    const rerun = await l.step(l.worker, rec, "dev-dev-worker1-upgrade", "kubeadm-cluster/upgrade-node.sh");
    ok("worker re-run", rerun);
    assert.match(rerun.stderr, /dev-worker1 already runs kubelet v1\.36\.1; nothing to upgrade/);
    const redrain = await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh");
    ok("drain re-run", redrain);
    assert.equal(l.cordoned("dev-worker1"), false, "a worker at the target is not drained again");
  });

  test("an exact patch: kubernetesVersion 1.36.0 installs and applies exactly v1.36.0", async () => {
    const l = await lab();
    const cp = await upgradeCp(l, await programAt("1.36.0"));
    ok("dev-upgrade", cp);
    assert.equal(apiServer(l.cp), "v1.36.0");
    assert.equal(l.cp.installed("kubelet"), "1.36.0-1.1");
  });
});

/** The sandbox's whole call log (every run so far), to find the calls of one run. */
const callLog = (sb: Sandbox) => sb.calls().length;
/** containerd's sandbox image as containerd runs it (read when it last started; test/fakes/node/tools/systemctl). */
const runningPause = (n: FakeNode) => n.file("run/fake-systemd/containerd.sandbox").trim();

/**
 * The control plane's upgrade to `version`, killed (as a Ctrl-C or a sleeping Mac would) just before (or once it has
 * had its effect: `when`) its first call matching `at` (test/fakes/interrupt): the call's position comes from an uncut run on the same lab, which is then
 * put back as it was.
 */
async function cutControlPlane(
  version: string,
  at: RegExp,
  when: "before" | "after" = "before",
): Promise<Lab> {
  const l = await lab();
  const rec = await programAt(version);
  const before = callLog(l.cpSandbox);
  ok("uncut", await upgradeCp(l, rec));
  const calls = l.cpSandbox.calls().slice(before);
  const n = calls.findIndex((c) => at.test(c)) + 1;
  assert.ok(n > 0, `no call matches ${at}: ${calls.join("\n")}`);
  const again = await lab();
  const control = mkdtempSync(path.join(tmpdir(), "tartlab-cut-"));
  try {
    const r = await again.cpSandbox.run({
      script: "kubeadm-cluster/upgrade-control-plane.sh",
      env: envOf(rec, "dev-upgrade"),
      groupFile: path.join(control, "pgid"),
      processEnv: {
        ...again.cp.processEnv,
        ...again.knobs,
        FAKE_INTERRUPT: path.join(FAKES_DIR, "interrupt"),
        FAKE_INTERRUPT_COUNT: path.join(control, "count"),
        FAKE_INTERRUPT_CALL: String(n),
        FAKE_INTERRUPT_WHEN: when,
        FAKE_INTERRUPT_PGID: path.join(control, "pgid"),
      },
    });
    assert.notEqual(r.code, 0, "cut off");
  } finally {
    rmSync(control, { recursive: true, force: true });
  }
  return again;
}

describe("the control plane's own node in a minor upgrade (kubeadm's upgrade page)", () => {
  test("drained before its kubelet's minor upgrade, uncordoned once the kubelet reports it; containerd runs the new kubeadm's pause", async () => {
    const l = await lab();
    const cpPods = path.join(l.cluster, "nodes", "dev-master", "pods");
    writeFileSync(path.join(cpPods, "cilium-cp1"), "daemonset\n");
    writeFileSync(path.join(cpPods, "coredns-1"), "plain\n");
    assert.equal(runningPause(l.cp), "registry.k8s.io/pause:3.10.1", "1.35's pause before");
    const containerdStarts = l.cp.starts("containerd");
    const before = callLog(l.cpSandbox);
    const cp = await upgradeCp(l, await programAt("1.36"));
    ok("dev-upgrade", cp);
    assert.equal(cp.stdout, "v1.36.1\n");
    assert.deepEqual(l.pods("dev-master"), ["cilium-cp1"], "evicted all but the DaemonSet's pod");
    assert.equal(l.cordoned("dev-master"), false, "uncordoned after the upgrade");
    assert.equal(l.kubelet("dev-master"), "v1.36.1");
    assert.equal(
      runningPause(l.cp),
      "registry.k8s.io/pause:3.10.2",
      "1.36's pause, as kubeadm 1.36 names it",
    );
    assert.equal(l.cp.starts("containerd"), containerdStarts + 1, "containerd restarted once to read it");
    const calls = cp.calls.slice(before);
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    const order = [
      /^kubeadm upgrade apply -y v1\.36\.1$/,
      /^kubectl drain dev-master --ignore-daemonsets --delete-emptydir-data --timeout=300s$/,
      /^systemctl restart containerd$/,
      /^apt-get .* install .*kubelet=1\.36\.1-\*/,
      /^systemctl restart kubelet$/,
      /^kubectl uncordon dev-master$/,
    ];
    for (const re of order) assert.ok(at(re) >= 0, `${re} ran: ${calls.join("\n")}`);
    for (let i = 1; i < order.length; i++)
      assert.ok(at(order[i - 1]) < at(order[i]), `${order[i - 1]} before ${order[i]}`);

    // The worker's own upgrade sets its containerd's pause the same way.
    const rec = await programAt("1.36", "v1.36.1");
    ok("drain", await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh"));
    assert.equal(runningPause(l.worker), "registry.k8s.io/pause:3.10.1");
    ok(
      "worker upgrade",
      await l.step(l.worker, rec, "dev-dev-worker1-upgrade", "kubeadm-cluster/upgrade-node.sh"),
    );
    assert.equal(runningPause(l.worker), "registry.k8s.io/pause:3.10.2");
  });

  test("a control-plane upgrade cut off after kubeadm upgrade apply finishes kubelet and kubectl on the next run", async () => {
    const l = await cutControlPlane("1.36", /^kubeadm upgrade apply /, "after");
    assert.equal(apiServer(l.cp), "v1.36.1", "apply had run");
    assert.equal(l.cp.installed("kubelet"), "1.35.2-1.1", "the kubelet had not");
    const r = await upgradeCp(l, await programAt("1.36"));
    ok("re-run", r);
    assert.equal(r.stdout, "v1.36.1\n");
    assert.match(
      r.stderr,
      /dev-master's control plane runs v1\.36\.1 but its kubelet is v1\.35\.2 .*finishing the upgrade/,
    );
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(l.cp.installed(p), "1.36.1-1.1", p);
    assert.deepEqual(l.cp.held(), K8S_HELD);
    assert.equal(l.kubelet("dev-master"), "v1.36.1");
    assert.equal(runningPause(l.cp), "registry.k8s.io/pause:3.10.2");
    assert.equal(l.cordoned("dev-master"), false);
  });

  test("cut off between the drain and the uncordon: the next run uncordons the control plane", async () => {
    const l = await cutControlPlane("1.36", /^kubectl uncordon dev-master$/);
    assert.ok(l.cordoned("dev-master"), "left cordoned");
    assert.equal(l.cp.installed("kubelet"), "1.36.1-1.1");
    const r = await upgradeCp(l, await programAt("1.36"));
    ok("re-run", r);
    assert.equal(l.cordoned("dev-master"), false);
    const again = await upgradeCp(l, await programAt("1.36"));
    assert.match(again.stderr, /dev-master already runs v1\.36\.1; nothing to upgrade/, "then a no-op");
  });

  test("a drain that does not finish, or a kubelet that never reports the new version: the control plane stays cordoned and the step fails", async () => {
    let l = await lab();
    const rec = await programAt("1.36");
    writeFileSync(path.join(l.cluster, "nodes", "dev-master", "pods", "db"), "pdb\n");
    let r = await upgradeCp(l, rec, {
      DRAIN_TIMEOUT_SECONDS: "5",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /drain of the control plane dev-master did not finish in 5s .*it stays cordoned and its kubelet is not upgraded/,
    );
    assert.ok(l.cordoned("dev-master"));
    assert.equal(l.cp.installed("kubelet"), "1.35.2-1.1");

    l = await lab();
    r = await l.cp.run(
      "kubeadm-cluster/upgrade-control-plane.sh",
      { ...envOf(rec, "dev-upgrade"), KUBELET_WAIT_SECONDS: "0" },
      { ...l.knobs, FAKE_KUBELET_SILENT: "1" },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-master's kubelet did not report v1\.36\.1 within 0s; it stays cordoned/);
    assert.ok(l.cordoned("dev-master"));
  });
});

describe("a patch upgrade of one cluster, 1.35.1 -> 1.35.2 (the same steps within a minor)", () => {
  test("control plane and worker install, apply and hold exactly v1.35.2, though pkgs.k8s.io has a newer patch", async () => {
    const l = await lab("1.35.1");
    assert.equal(apiServer(l.cp), "v1.35.1", "the lab runs the older patch");
    // pkgs.k8s.io has published a newer patch since: only the asked one may be installed.
    for (const n of [l.cp, l.worker]) n.publish("1.35", "1.35.3");
    const cpStarts = l.cp.starts("kubelet");
    const cp = await upgradeCp(l, await programAt("1.35.2", "v1.35.1", "v1.35.1"));
    ok("dev-upgrade", cp);
    assert.equal(cp.stdout, "v1.35.2\n");
    assert.equal(apiServer(l.cp), "v1.35.2", "kubeadm upgrade apply ran");
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(l.cp.installed(p), "1.35.2-1.1", p);
    assert.equal(l.cp.installed("cri-tools"), "1.35.0-1.1", "crictl is not part of the upgrade");
    assert.deepEqual(l.cp.held(), K8S_HELD, "held again");
    assert.ok(l.cp.starts("kubelet") > cpStarts, "kubelet restarted");
    assert.equal(l.kubelet("dev-master"), "v1.35.2");
    assert.match(l.cp.file("etc/apt/sources.list.d/kubernetes.list"), /core:\/stable:\/v1\.35\/deb\//);
    const calls = cp.calls.slice(cp.calls.indexOf("apt-mark unhold kubeadm"));
    assert.ok(calls.some((c) => /^apt-get .* install .*kubeadm=1\.35\.2-\*$/.test(c)));
    assert.ok(calls.includes("kubeadm upgrade plan v1.35.2"));
    assert.ok(calls.includes("kubeadm upgrade apply -y v1.35.2"));
    assert.ok(!calls.some((c) => c.startsWith("kubectl drain dev-master")), "no drain for a kubelet patch");

    const rec = await programAt("1.35.2", cp.stdout.trim(), "v1.35.1");
    ok("drain", await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh"));
    assert.ok(l.cordoned("dev-worker1"));
    assert.deepEqual(l.pods("dev-worker1"), ["cilium-x7k2p"], "drained for a patch as for a minor");
    ok(
      "worker upgrade",
      await l.step(l.worker, rec, "dev-dev-worker1-upgrade", "kubeadm-cluster/upgrade-node.sh"),
    );
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(l.worker.installed(p), "1.35.2-1.1", p);
    assert.deepEqual(l.worker.held(), K8S_HELD);
    assert.equal(
      l.worker.file("var/lib/kubelet/fake-config-version").trim(),
      "v1.35.2",
      "kubeadm upgrade node ran",
    );
    assert.equal(l.kubelet("dev-worker1"), "v1.35.2");
    ok(
      "uncordon",
      await l.step(l.cp, rec, "dev-dev-worker1-uncordon", "kubeadm-cluster/upgrade-uncordon.sh"),
    );
    assert.equal(l.cordoned("dev-worker1"), false);
  });
});

describe("an interrupted dpkg on a node (a package install cut off) is finished before the upgrade's apt calls", () => {
  /** What a dpkg cut off inside kubeadm's maintainer script leaves: its journal (test/fakes/node/tools/apt-get). */
  const cutOff = (n: FakeNode) => {
    mkdirSync(path.join(n.root, "var/lib/dpkg/updates"), { recursive: true });
    writeFileSync(path.join(n.root, "var/lib/dpkg/updates/0000"), "kubeadm 1.35.2-1.1\n");
  };
  const journal = (n: FakeNode) => readdirSync(path.join(n.root, "var/lib/dpkg/updates"));

  test("control plane and worker: dpkg --configure -a first, then the upgrade goes through", async () => {
    const l = await lab();
    cutOff(l.cp);
    const cp = await upgradeCp(l, await programAt("1.36"));
    ok("dev-upgrade", cp);
    assert.equal(cp.stdout, "v1.36.1\n", "stdout is still the version alone");
    assert.match(
      cp.stderr,
      /dev-master: an interrupted package installation is finished first \(dpkg --configure -a\)/,
    );
    assert.deepEqual(journal(l.cp), []);
    assert.equal(apiServer(l.cp), "v1.36.1");
    assert.equal(l.cp.installed("kubelet"), "1.36.1-1.1");

    const rec = await programAt("1.36", "v1.36.1");
    ok("drain", await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh"));
    cutOff(l.worker);
    const w = await l.step(l.worker, rec, "dev-dev-worker1-upgrade", "kubeadm-cluster/upgrade-node.sh");
    ok("worker upgrade", w);
    assert.match(w.stderr, /dev-worker1: an interrupted package installation is finished first/);
    assert.deepEqual(journal(l.worker), []);
    for (const p of ["kubeadm", "kubelet", "kubectl"]) assert.equal(l.worker.installed(p), "1.36.1-1.1", p);
  });
});

describe("refusals and failures leave the cluster as it was", () => {
  const unchanged = (l: Lab) => {
    assert.equal(apiServer(l.cp), "v1.35.2");
    assert.equal(l.cp.installed("kubeadm"), "1.35.2-1.1");
    assert.deepEqual(l.cp.held(), K8S_HELD);
  };

  test("control plane: downgrade (minor or patch) and a skipped minor are refused before anything is installed", async () => {
    const l = await lab();
    for (const [version, message] of [
      [
        "1.34",
        /dev-master runs v1\.35\.2; kubeadm cannot downgrade to 1\.34\. Set the cluster's kubernetesVersion back to "1\.35\.2"/,
      ],
      ["1.35.1", /kubeadm cannot downgrade to 1\.35\.1/],
      [
        "1.37",
        /1\.37 skips a minor and kubeadm upgrades one minor at a time\. Set the cluster's kubernetesVersion to "1\.36" first/,
      ],
    ] as const) {
      const r = await upgradeCp(l, await programAt(version));
      assert.equal(r.code, 1, version);
      assert.match(r.stderr, message);
      unchanged(l);
    }
  });

  test("control plane: not initialised, a failed kubeadm upgrade apply, a repository serving another minor, apt giving up", async () => {
    const l = await lab();
    const rec = await programAt("1.36");
    const manifest = path.join(l.cp.root, "etc/kubernetes/manifests/kube-apiserver.yaml");
    const saved = readFileSync(manifest, "utf8");
    writeFileSync(manifest, "spec: {}\n");
    let r = await upgradeCp(l, rec);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /dev-master has no kube-apiserver manifest naming a version .*is the cluster initialised\?/,
    );
    writeFileSync(manifest, saved);

    r = await upgradeCp(l, rec, { FAKE_UPGRADE_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /kubeadm upgrade of dev-master to v1\.36\.1 failed or took over 900s; last lines of/,
    );
    assert.match(r.stderr, /couldn't upgrade control plane/);
    assert.equal(apiServer(l.cp), "v1.35.2");
    assert.equal(l.cp.installed("kubelet"), "1.35.2-1.1", "kubelet is not upgraded past a failed apply");
    assert.deepEqual(l.cp.held(), K8S_HELD, "kubeadm held again even so");

    writeFileSync(path.join(l.cp.root, "..", "node", "apt-update-failures"), "5\n");
    r = await upgradeCp(l, rec);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-master: gave up after 5 attempts: _apt update/);

    // The 1.36 repository now serves a 1.37 kubeadm as its newest.
    l.cp.publish("1.36", "1.37.0");
    r = await upgradeCp(l, rec);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-master: installed kubeadm v1\.37\.0 is not of 1\.36/);
  });

  test("worker: a drain that times out (PodDisruptionBudget) fails and the worker is not upgraded", async () => {
    const l = await lab();
    const rec = await programAt("1.36", "v1.36.1");
    writeFileSync(path.join(l.cluster, "nodes", "dev-worker1", "pods", "db"), "pdb\n");
    const r = await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh", {
      DRAIN_TIMEOUT_SECONDS: "5",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /drain of dev-worker1 did not finish in 5s .*it stays cordoned and is not upgraded/,
    );
    assert.match(r.stderr, /violate the pod's disruption budget/);
    assert.ok(l.cordoned("dev-worker1"));
    assert.equal(l.kubelet("dev-worker1"), "v1.35.2");
  });

  test("worker: a bad version, no kubelet, a downgrade or skipped minor, a failed kubeadm upgrade node", async () => {
    const l = await lab();
    const rec = await programAt("1.36", "v1.36.1");
    const run = (extra: Record<string, string>, knobs: Record<string, string> = {}) =>
      l.worker.run(
        "kubeadm-cluster/upgrade-node.sh",
        { ...envOf(rec, "dev-dev-worker1-upgrade"), ...extra },
        {
          ...l.knobs,
          ...knobs,
        },
      );
    let r = await run({ CONTROL_PLANE_VERSION: "1.36" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CONTROL_PLANE_VERSION "1\.36" is not an exact version like v1\.36\.1/);
    for (const v of ["v1.34.9", "v1.37.0"]) {
      r = await run({ CONTROL_PLANE_VERSION: v });
      assert.equal(r.code, 1, v);
      assert.match(r.stderr, /dev-worker1 runs kubelet v1\.35\.2; refusing to move it to v1\.3[47]/);
    }
    r = await run({}, { FAKE_UPGRADE_FAIL: "1" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubeadm upgrade node on dev-worker1 failed or took over 600s/);
    assert.equal(l.worker.installed("kubelet"), "1.35.2-1.1");
    writeFileSync(path.join(l.worker.root, "..", "node", "apt-update-failures"), "5\n");
    r = await run({});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-worker1: gave up after 5 attempts: _apt update/);

    const bare = newSandbox();
    const fresh = fakeNode(bare, { kubernetes: KUBERNETES });
    r = await fresh.run("kubeadm-cluster/upgrade-node.sh", envOf(rec, "dev-dev-worker1-upgrade"), l.knobs);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-worker1 has no kubelet installed; node preparation did not run/);
  });

  test("uncordon waits for the worker's kubelet at the new version, under a deadline; then stays cordoned", async () => {
    const l = await lab();
    const rec = await programAt("1.36", "v1.36.1");
    ok("drain", await l.step(l.cp, rec, "dev-dev-worker1-drain", "kubeadm-cluster/upgrade-drain.sh"));
    const r = await l.step(l.cp, rec, "dev-dev-worker1-uncordon", "kubeadm-cluster/upgrade-uncordon.sh", {
      KUBELET_WAIT_SECONDS: "0",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-worker1's kubelet did not report v1\.36\.1 within 0s; it stays cordoned/);
    assert.ok(l.cordoned("dev-worker1"));
  });
});

describe("kubeadm-cluster/version-record.sh (on the Mac)", () => {
  test("writes ~/.tartlab/clusters/<cluster>.json; delete removes it, and succeeds when it is gone", async () => {
    const sb = newSandbox();
    const rec = await programAt("1.35");
    const env = envOf(rec, "dev-version-record");
    const home = path.join(sb.dir, "tartlab-home");
    const run = (action?: "delete") =>
      sb.run({
        script: "kubeadm-cluster/version-record.sh",
        deleteScript: action && "kubeadm-cluster/version-record-remove.sh",
        action,
        env,
        processEnv: { TARTLAB_HOME: home },
      });
    ok("record", await run());
    const file = path.join(home, "clusters", "dev.json");
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
      baseImage: "ghcr.io/cirruslabs/ubuntu:24.04",
      images: {
        "dev-master": "ghcr.io/cirruslabs/ubuntu:24.04",
        "dev-worker1": "ghcr.io/cirruslabs/ubuntu:24.04",
      },
      kubernetesVersion: "1.35",
      nodes: { "dev-master": "1.35", "dev-worker1": "1.35" },
      patch: "1.35.2",
      podCidr: "10.20.0.0/16",
      serviceCidr: "10.97.0.0/16",
    });
    ok("remove", await run("delete"));
    assert.equal(existsSync(file), false);
    ok("remove again", await run("delete"));
  });
});
