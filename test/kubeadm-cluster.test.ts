/**
 * KubeadmCluster alone under mocks (test/harness/pulumi.ts), on real K8sNode members at fixed addresses: its
 * children, their exact order (init, joins, the upgrade chain, the version record), where each step runs, what is
 * secret, and the provider's identity. The cluster in the default lab is in test/cluster.test.ts; what a change
 * does to a deployed lab is in test/plans.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { KubeadmCluster, KubeadmClusterArgs } from "../components/kubeadm-cluster";
import {
  FAKE_CA_HASH,
  FAKE_KUBEADM_VERSION,
  FAKE_TOKEN,
  LabRun,
  MockOptions,
  bundleEnv,
  childrenOf,
  defaultStdout,
  evaluate,
  isSecretValue,
  unwrap,
} from "./harness/pulumi";
import { C_IPS, cMembers, cSpec } from "./harness/cluster-c";

const WORKERS = ["c-worker1", "c-worker2"];

/**
 * One KubeadmCluster `c` on K8sNodes at fixed addresses (each VM's id is `<vm>-vm`); `versions` sets a node's
 * preparation version (default: the cluster's).
 */
function oneCluster(
  opts: {
    workers?: string[];
    versions?: Record<string, string>;
    args?: Partial<KubeadmClusterArgs>;
  } & MockOptions = {},
): Promise<LabRun> {
  const nodes = ["c-master", ...(opts.workers ?? WORKERS)];
  return evaluate(() => {
    const { cp, workers } = cMembers(nodes, opts.versions);
    const cluster = new KubeadmCluster("c", {
      spec: cSpec(nodes),
      controlPlane: cp,
      workers,
      record: { kubernetesVersion: "1.35", nodes: Object.fromEntries(nodes.map((n) => [n, "1.35"])) },
      loginUser: "admin",
      contexts: { merge: true, currentContext: "c" },
      forgetUnreachable: false,
      ...opts.args,
    });
    return { kubeconfig: cluster.kubeconfig, apiServer: cluster.apiServer };
  }, opts);
}

const host = (rec: LabRun["recorder"], name: string) => unwrap(rec.byName(name).inputs.connection).host;
const deps = (rec: LabRun["recorder"], name: string) => [...rec.byName(name).dependencies].sort();

describe("KubeadmCluster", () => {
  test("children: init, kubeconfig, the Mac's kubeconfig file, the provider, per worker netcheck, join-token, join and member, the upgrade chain and the version record", async () => {
    const { recorder: rec } = await oneCluster();
    const [cluster] = rec.ofType("tartlab:index:KubeadmCluster");
    const perWorker = (steps: string[]) => WORKERS.flatMap((w) => steps.map((s) => `c-${w}-${s}`));
    // Registration order follows when inputs resolve, not the constructor: compared as sets.
    assert.deepEqual(
      childrenOf(rec, cluster)
        .map((r) => r.name)
        .sort(),
      [
        "c-init",
        "c-kubeconfig",
        "c-host-kubeconfig",
        "c-k8s",
        ...perWorker(["netcheck", "join-token", "join", "member"]),
        "c-upgrade",
        ...perWorker(["drain", "upgrade", "uncordon"]),
        "c-version-record",
      ].sort(),
    );
    assert.equal(rec.byName("c-k8s").type, "pulumi:providers:kubernetes");
    for (const local of ["c-host-kubeconfig", "c-version-record"])
      assert.equal(rec.byName(local).type, "command:local:Command", local);
  });

  test("order: control plane ready -> init -> kubeconfig; per worker init and its own readiness -> netcheck, token -> join -> member", async () => {
    const { recorder: rec } = await oneCluster();
    assert.deepEqual(deps(rec, "c-init"), ["c-master-ready"]);
    assert.deepEqual(deps(rec, "c-kubeconfig"), ["c-init"]);
    assert.deepEqual(deps(rec, "c-host-kubeconfig"), ["c-kubeconfig"]);
    assert.deepEqual(deps(rec, "c-k8s"), ["c-kubeconfig"]);
    for (const w of WORKERS) {
      assert.deepEqual(deps(rec, `c-${w}-netcheck`), ["c-init", `${w}-ready`]);
      assert.deepEqual(deps(rec, `c-${w}-join-token`), ["c-init"]);
      assert.deepEqual(deps(rec, `c-${w}-join`), [`c-${w}-join-token`, `c-${w}-netcheck`, "c-master-ready"]);
      assert.deepEqual(deps(rec, `c-${w}-member`), [`c-${w}-join`]);
    }
  });

  test("upgrade chain: the control plane after init, then each worker in turn (drain -> upgrade -> uncordon), the version record last", async () => {
    const { recorder: rec } = await oneCluster();
    assert.deepEqual(deps(rec, "c-upgrade"), ["c-init"]);
    assert.deepEqual(deps(rec, "c-c-worker1-drain"), ["c-c-worker1-member", "c-upgrade"]);
    assert.deepEqual(deps(rec, "c-c-worker1-upgrade"), ["c-c-worker1-drain", "c-upgrade"]);
    assert.deepEqual(deps(rec, "c-c-worker1-uncordon"), ["c-c-worker1-upgrade", "c-upgrade"]);
    assert.deepEqual(deps(rec, "c-c-worker2-drain"), [
      "c-c-worker1-uncordon",
      "c-c-worker2-member",
      "c-upgrade",
    ]);
    assert.deepEqual(deps(rec, "c-c-worker2-upgrade"), ["c-c-worker2-drain", "c-upgrade"]);
    assert.deepEqual(deps(rec, "c-c-worker2-uncordon"), ["c-c-worker2-upgrade", "c-upgrade"]);
    // A bare minor's exact version, which the program cannot know, is the one the control plane's upgrade printed.
    assert.deepEqual(deps(rec, "c-version-record"), [
      "c-c-worker1-member",
      "c-c-worker2-member",
      "c-c-worker2-uncordon",
      "c-upgrade",
    ]);
    assert.deepEqual(JSON.parse(bundleEnv(rec.byName("c-version-record").inputs.stdin).RECORD), {
      kubernetesVersion: "1.35",
      nodes: { "c-master": "1.35", "c-worker1": "1.35", "c-worker2": "1.35" },
      patch: FAKE_KUBEADM_VERSION.slice(1),
    });
    // The workers' steps read the version the control plane's upgrade printed.
    assert.equal(
      bundleEnv(rec.byName("c-c-worker1-drain").inputs.stdin).CONTROL_PLANE_VERSION,
      FAKE_KUBEADM_VERSION,
    );
    assert.deepEqual(bundleEnv(rec.byName("c-upgrade").inputs.stdin), {
      K8S_MINOR: "1.35",
      K8S_PATCH: "",
      NODE_NAME: "c-master",
    });
  });

  test("each step runs where it must: init, kubeconfig, tokens, members, drains and uncordons on the control plane; netcheck, join and a worker's upgrade on the worker", async () => {
    const { recorder: rec } = await oneCluster();
    for (const n of ["c-init", "c-kubeconfig", "c-upgrade"]) assert.equal(host(rec, n), C_IPS["c-master"], n);
    for (const w of WORKERS) {
      for (const s of ["join-token", "member", "drain", "uncordon"])
        assert.equal(host(rec, `c-${w}-${s}`), C_IPS["c-master"], `c-${w}-${s}`);
      for (const s of ["netcheck", "join", "upgrade"])
        assert.equal(host(rec, `c-${w}-${s}`), C_IPS[w], `c-${w}-${s}`);
    }
    assert.equal(rec.byName("c-c-worker1-member").inputs.delete, "sudo -n bash -s -- delete");
  });

  test("init gets the generated config for the control plane's address and the version its readiness step printed", async () => {
    const { recorder: rec } = await oneCluster();
    const env = bundleEnv(rec.byName("c-init").inputs.stdin);
    assert.deepEqual(
      [env.NODE_NAME, env.LOGIN_USER, env.KUBERNETES_VERSION],
      ["c-master", "admin", FAKE_KUBEADM_VERSION],
    );
    const docs = parseAllDocuments(env.KUBEADM_CONFIG).map((d) => d.toJSON());
    assert.equal(docs[0].localAPIEndpoint.advertiseAddress, C_IPS["c-master"]);
    assert.deepEqual(docs[1].networking.podSubnet, "10.20.0.0/16");
    assert.equal(docs[1].clusterName, "c");
    assert.ok(!("taints" in docs[0].nodeRegistration), "workers exist: default control-plane taint");
    assert.deepEqual(rec.byName("c-init").propertyDependencies.stdin, ["c-master-ready"]);
  });

  test("the join: the worker's own address, the control plane's endpoint, the token's CA hash, secret", async () => {
    const { recorder: rec } = await oneCluster();
    const join = rec.byName("c-c-worker2-join");
    assert.ok(isSecretValue(join.inputs.stdin), "stdin carries the token: secret");
    assert.equal(join.inputs.logging, "stderr");
    const env = bundleEnv(unwrap(join.inputs.stdin));
    assert.deepEqual(
      [env.NODE_NAME, env.NODE_IP, env.API_SERVER_ENDPOINT, env.CA_CERT_HASH, env.KUBERNETES_VERSION],
      ["c-worker2", C_IPS["c-worker2"], `${C_IPS["c-master"]}:6443`, FAKE_CA_HASH, FAKE_KUBEADM_VERSION],
    );
    const doc = parse(env.JOIN_CONFIG);
    assert.equal(doc.nodeRegistration.kubeletExtraArgs[0].value, C_IPS["c-worker2"]);
    assert.equal(doc.discovery.bootstrapToken.token, FAKE_TOKEN);
    assert.deepEqual(bundleEnv(rec.byName("c-c-worker2-netcheck").inputs.stdin), {
      API_SERVER: `${C_IPS["c-master"]}:6443`,
      NODE_NAME: "c-worker2",
    });
  });

  test("a worker prepared at another version than the control plane joins at its own kubeadm's version", async () => {
    const { recorder: rec } = await oneCluster({
      versions: { "c-worker2": "1.36" },
      stdout: (n) => (n === "c-worker2-ready" ? "v1.36.1" : defaultStdout(n)),
    });
    const version = (w: string) =>
      bundleEnv(unwrap(rec.byName(`c-${w}-join`).inputs.stdin)).KUBERNETES_VERSION;
    assert.deepEqual([version("c-worker1"), version("c-worker2")], [FAKE_KUBEADM_VERSION, "v1.36.1"]);
  });

  test("every step inside a VM carries the VMs' ids: a re-cloned control plane or worker runs them again", async () => {
    const { recorder: rec } = await oneCluster();
    for (const n of ["c-init", "c-kubeconfig", "c-upgrade"])
      assert.deepEqual(rec.byName(n).inputs.triggers, ["c-master-vm"], n);
    for (const w of WORKERS)
      for (const s of ["netcheck", "join-token", "join", "member", "drain", "upgrade", "uncordon"])
        assert.deepEqual(
          rec.byName(`c-${w}-${s}`).inputs.triggers,
          [`${w}-vm`, "c-master-vm"],
          `c-${w}-${s}`,
        );
  });

  test("secrets: the kubeconfig and join tokens are never logged and stored as secrets; no step gets its previous stdout", async () => {
    const { recorder: rec, outputs } = await oneCluster();
    for (const n of ["c-kubeconfig", "c-c-worker1-join-token", "c-c-worker2-join-token"]) {
      assert.equal(rec.byName(n).inputs.logging, "none", n);
      assert.deepEqual(
        [...rec.byName(n).options.additionalSecretOutputs].sort(),
        ["connection", "stderr", "stdout"],
        n,
      );
    }
    const file = rec.byName("c-host-kubeconfig");
    assert.equal(file.inputs.logging, "none");
    assert.ok(isSecretValue(file.inputs.stdin));
    assert.deepEqual(
      rec.registrations.filter(
        (r) => r.type.startsWith("command:") && r.inputs.addPreviousOutputInEnv !== false,
      ),
      [],
    );
    const { inspect } = await import("./harness/outputs");
    assert.equal((await inspect(outputs.kubeconfig as any)).isSecret, true);
    assert.equal((await inspect(outputs.apiServer as any)).value, `https://${C_IPS["c-master"]}:6443`);
  });

  test("the provider: its own secret kubeconfig; its identity is the control plane VM's id; objects are dropped on an unreachable API only by the switch", async () => {
    for (const forgetUnreachable of [false, true]) {
      const { recorder: rec } = await oneCluster({ args: { forgetUnreachable } });
      const p = rec.byName("c-k8s");
      assert.ok(isSecretValue(p.inputs.kubeconfig));
      assert.equal(
        parse(unwrap(p.inputs.kubeconfig)).clusters[0].cluster.server,
        `https://${C_IPS["c-master"]}:6443`,
      );
      assert.equal(p.inputs.clusterIdentifier, "tartlab/c/c-master-vm");
      assert.deepEqual(p.propertyDependencies.clusterIdentifier ?? [], []);
      assert.equal(p.inputs.deleteUnreachable, String(forgetUnreachable));
      assert.equal(p.inputs.enableServerSideApply, "true");
    }
  });

  test("without workers: an untainted control plane, no worker steps", async () => {
    const { recorder: rec } = await oneCluster({ workers: [] });
    const docs = parseAllDocuments(bundleEnv(rec.byName("c-init").inputs.stdin).KUBEADM_CONFIG).map((d) =>
      d.toJSON(),
    );
    assert.deepEqual(docs[0].nodeRegistration.taints, []);
    assert.deepEqual(deps(rec, "c-version-record"), ["c-upgrade"]);
    assert.ok(!rec.registrations.some((r) => r.name.startsWith("c-c-")));
  });
});
