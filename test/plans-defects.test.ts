/**
 * Plan-level safety (test/harness/preview.ts) on the laptop stack (Pulumi.small.yaml), grown where one cluster
 * cannot show the behaviour: the data guard judges what the plan deletes, not only what leaves the config, and
 * reads only the clusters a change touches. Each config is evaluated once in this file and shared.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { recordPath } from "../mac/cluster-record";
import { DataCheck, checkDataLoss } from "../mac/data-guard";
import { FakeK8sApi, FakeVolume, healthyCluster, startFakeK8sApi } from "./harness/fake-k8s-api";
import { prepareLab, program } from "../program";
import { MAC_FACTS, Recorder, bundleEnv, setStackConfig, unwrap } from "./harness/pulumi";
import { LabPlanOptions, Plan, State, deployLab, foundIn, planLab, recordsOf } from "./harness/preview";

type Config = Record<string, any>;
const small = (): Config =>
  parse(readFileSync(path.join(__dirname, "..", "Pulumi.small.yaml"), "utf8")).config;
const clusters = (c: Config): any[] => c["tartlab:clusters"];
const node = (name: string, role = "worker") => ({ name, role, cpus: 2, memoryMb: 2048, diskGb: 25 });
/** The laptop stack with `mutate` applied. */
function laptop(mutate: (c: Config) => void = () => {}): Config {
  const c = structuredClone(small());
  mutate(c);
  return c;
}

/**
 * The laptop lab with a second worker and a second cluster: small (master, worker1, worker2) and other (master).
 * Deployed once and shared by every test of this file; its plans see what the drift check reports for a deployed
 * lab (every VM where its address step read it).
 */
const TWO = laptop((c) => {
  clusters(c)[0].nodes.push(node("small-worker2"));
  clusters(c).push({
    name: "other",
    podCidr: "10.41.0.0/16",
    serviceCidr: "10.100.0.0/16",
    nodes: [node("other-master", "control-plane")],
  });
});
const change = (mutate: (c: Config) => void) => {
  const c = structuredClone(TWO);
  mutate(c);
  return c;
};

const VMS = ["small-master", "small-worker1", "small-worker2", "other-master"];
/** Built with the bare minor "1.35" when 1.35.1 was its newest patch: every kubeadm prints v1.35.1. */
const AT_1_35_1 = Object.fromEntries(
  [...[...VMS, "small-worker3"].map((vm) => `${vm}-ready`), "small-upgrade", "other-upgrade"].map((n) => [
    n,
    "v1.35.1",
  ]),
);
let state: State;
before(async () => {
  state = await deployLab({ config: TWO }, AT_1_35_1);
});
/** What `pulumi up` (or preview) of `config` does to a deployed lab, with the records it wrote on the Mac. */
const planOf = (config: Config, opts?: LabPlanOptions, on = state): Promise<Plan> =>
  planLab(on, { config, records: recordsOf(on), drift: foundIn(on) }, { stdout: AT_1_35_1, ...opts });
/** The lab after `pulumi up` of `config` over the deployed one (or over a lab that wrote `records`). */
const upOf = (config: Config, records = recordsOf(state)) =>
  deployLab({ config, records, drift: foundIn(state) }, AT_1_35_1);
/** The decoded script environment of a stored Command. */
function envIn(s: State, name: string): Record<string, string> {
  const r = [...s.resources.values()].find((x) => x.reg.name === name && x.reg.custom);
  assert.ok(r, `no resource ${name}`);
  return bundleEnv(unwrap(r.reg.inputs.stdin));
}

describe("the data guard judges the plan's deletions and reads only the clusters a change touches", () => {
  /** Volumes: Jenkins' home on small-master, a cache on small-worker1, a database on other-master. */
  const VOLUMES: Record<string, FakeVolume[]> = {
    small: [
      { name: "pvc-jenkins", node: "small-master", claim: { namespace: "jenkins", name: "jenkins" } },
      { name: "pvc-cache", node: "small-worker1", claim: { namespace: "ci", name: "cache" } },
    ],
    other: [{ name: "pvc-db", node: "other-master", claim: { namespace: "app", name: "db" } }],
  };
  let home: string;
  const apis: Record<string, FakeK8sApi> = {};
  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), "tartlab-plan-guard-"));
    mkdirSync(path.join(home, "vms"));
    mkdirSync(path.join(home, "kube"));
    mkdirSync(path.join(home, "clusters"));
    for (const [cluster, record] of Object.entries(recordsOf(state))) {
      writeFileSync(recordPath(cluster, home), JSON.stringify(record));
      for (const vm of Object.keys(record!.nodes)) {
        writeFileSync(path.join(home, "vms", `${vm}.owner`), "tartlab/dev\n");
      }
      const api = await startFakeK8sApi({
        ...healthyCluster(Object.keys(record!.nodes)),
        volumes: VOLUMES[cluster],
      });
      apis[cluster] = api;
      writeFileSync(path.join(home, "kube", `${cluster}.yaml`), api.kubeconfig(cluster));
    }
  });
  after(async () => {
    for (const api of Object.values(apis)) await api.close();
    rmSync(home, { recursive: true, force: true });
  });

  /**
   * What the program's data preflight decides for `config`, as index.ts wires it (program.ts hands the guard what
   * it plans to rebuild): it reads the Mac (this file's ~/.tartlab) and the fake APIs. The program is stopped right
   * after the guard, before anything is registered.
   */
  const guardFor = async (config: Config): Promise<DataCheck> => {
    new Recorder().install({ preview: true });
    setStackConfig(config);
    const stop = new Error("stop after the data preflight");
    let check: DataCheck | undefined;
    await program({
      hostFacts: () => MAC_FACTS,
      clusterRecords: () => recordsOf(state),
      dataGuard: async (c, owner, planned) => {
        const env = { TARTLAB_HOME: home, HOME: "/nonexistent" };
        check = await checkDataLoss(c, owner, { env, timeoutMs: 1000 }, planned);
        throw stop;
      },
    }).catch((e: unknown) => {
      if (e !== stop) throw e;
    });
    assert.ok(check, "the guard ran");
    return check;
  };
  /** The volumes a plan deletes: those on a VM it deletes or clones again, and every one of a cluster it rebuilds. */
  const lostIn = (p: Plan) => {
    const gone = (name: string) =>
      ["replace", "delete"].includes(p.steps.find((s) => s.name === name)?.op ?? "");
    return Object.entries(VOLUMES)
      .flatMap(([cluster, vs]) => vs.map((v) => ({ cluster, ...v })))
      .filter((v) => gone(`${v.node}-clone`) || gone(`${v.cluster}-k8s`))
      .map((v) => v.name)
      .sort();
  };
  /** The volumes the guard refuses the change for. */
  const refusedFor = async (config: Config): Promise<string[]> =>
    (await guardFor(config)).problems
      .flatMap((p) => /^PersistentVolume (\S+) \(claim/.exec(p)?.[1] ?? [])
      .sort();

  for (const [what, mutate] of [
    [
      "a new baseImage (every VM cloned again)",
      (c: Config) => (c["tartlab:baseImage"] = "ghcr.io/cirruslabs/ubuntu:25.04"),
    ],
    [
      "a renamed control plane (its cluster built anew)",
      (c: Config) => (clusters(c)[0].nodes[0].name = "small-cp"),
    ],
    ["a removed worker", (c: Config) => clusters(c)[0].nodes.splice(1, 1)],
    [
      "the golden image switched on (nothing cloned again)",
      (c: Config) => Object.assign(c, { "tartlab:goldenImage": true, "tartlab:kubernetesVersion": "1.35.2" }),
    ],
  ] as const) {
    test(`${what}: refused for exactly the volumes the plan deletes`, async () => {
      const p = await planOf(change((c) => (mutate(c), (c["tartlab:allowDataLoss"] = true))));
      const lost = lostIn(p);
      assert.deepEqual(await refusedFor(change(mutate)), lost);
      if (what.includes("nothing")) assert.deepEqual(lost, [], "the plan deletes no volume");
      else assert.ok(lost.length > 0, "the plan deletes a volume");
    });
  }

  test("removing a worker reads only its own cluster: another cluster's API is never asked, even when it hangs", async () => {
    apis.other.state.hang = true;
    apis.other.requests.length = 0;
    try {
      assert.deepEqual((await guardFor(change((c) => clusters(c)[0].nodes.splice(2, 1)))).problems, []);
      assert.deepEqual(apis.other.requests, []);
    } finally {
      apis.other.state.hang = false;
    }
  });
});

describe("a VM restart runs its cluster's Ready check again", () => {
  const MODES = ["up", "preview"] as const;
  /** Names of the resources `name` waits for, transitively, in the deployed graph. */
  const waitsFor = (name: string): Set<string> => {
    const regs = new Map([...state.resources.values()].map((r) => [r.reg.name, r.reg]));
    const seen = new Set<string>();
    const todo = [name];
    for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
      for (const d of regs.get(n)?.dependencies ?? []) {
        if (seen.has(d)) continue;
        seen.add(d);
        todo.push(d);
      }
    }
    return seen;
  };

  test("a resize of a control plane or a worker: its start step and its cluster's Ready check are updated, nothing else; the check waits for every restart", async () => {
    for (const [cluster, i, key] of [
      [0, 0, "cpus"],
      [0, 2, "memoryMb"],
      [1, 0, "diskGb"],
    ] as const) {
      const config = change((c) => (clusters(c)[cluster].nodes[i][key] += 2));
      const vm = clusters(config)[cluster].nodes[i].name;
      for (const mode of MODES) {
        const p = await planOf(config, { mode });
        const name = clusters(config)[cluster].name;
        assert.deepEqual(
          p.summary(),
          { update: [`${vm}-start`, `${name}-nodes-ready`].sort() },
          `${vm} ${key}, ${mode}`,
        );
      }
      assert.ok(waitsFor(`${clusters(config)[cluster].name}-nodes-ready`).has(`${vm}-start`), vm);
    }
  });

  test("with the golden image the same: a resize updates the VM's start step and its cluster's Ready check only", async () => {
    const golden = (c: Config) =>
      Object.assign(c, { "tartlab:goldenImage": true, "tartlab:kubernetesVersion": "1.35.1" });
    const on = await deployLab({ config: change(golden) }, AT_1_35_1);
    assert.ok([...on.resources.values()].some((r) => r.reg.name.startsWith("golden-image-")));
    const config = change((c) => {
      golden(c);
      clusters(c)[0].nodes[1].memoryMb += 2;
    });
    for (const mode of MODES) {
      const p = await planLab(
        on,
        { config, records: recordsOf(on), drift: foundIn(on) },
        { stdout: AT_1_35_1, mode },
      );
      assert.deepEqual(p.summary(), { update: ["small-nodes-ready", "small-worker1-start"] }, mode);
    }
  });

  test("a new softnetAllow restarts every VM: every cluster's Ready check runs again; a longer IP wait restarts nothing and checks nothing", async () => {
    for (const mode of MODES) {
      const p = await planOf(
        change((c) => (c["tartlab:softnetAllow"] = "192.168.64.0/24")),
        { mode },
      );
      assert.deepEqual(
        p.summary(),
        { update: [...VMS.map((vm) => `${vm}-start`), "other-nodes-ready", "small-nodes-ready"].sort() },
        mode,
      );
      const q = await planOf(
        change((c) => (c["tartlab:ipWaitSeconds"] = 300)),
        { mode },
      );
      assert.deepEqual(q.summary(), { update: VMS.map((vm) => `${vm}-start`).sort() }, mode);
    }
  });
});

describe("changes an existing cluster cannot take are refused before anything is registered", () => {
  /** The program's preflight for `config` with the records the deployed lab wrote: its refusal, or "" if none. */
  const refusal = (config: Config, records = recordsOf(state)): string => {
    const recorder = new Recorder();
    recorder.install({ preview: true });
    setStackConfig(config);
    try {
      prepareLab({ hostFacts: () => MAC_FACTS, clusterRecords: () => records });
      return "";
    } catch (e) {
      assert.equal(recorder.registrations.length, 0, "nothing registered");
      return (e as Error).message;
    }
  };

  test("a new podCidr or serviceCidr of an existing cluster: refused, naming the key, both values and the fix; a first build takes it", () => {
    for (const [key, value, was] of [
      ["podCidr", "10.42.0.0/16", "10.40.0.0/16"],
      ["serviceCidr", "10.101.0.0/16", "10.99.0.0/16"],
    ] as const) {
      const config = change((c) => (clusters(c)[0][key] = value));
      const message = refusal(config);
      assert.match(message, /cluster change preflight failed; nothing was changed/, key);
      assert.ok(
        message.includes(`cluster "small" ${key} "${value}": cluster small was built with "${was}"`),
        message,
      );
      assert.match(
        message,
        new RegExp(
          `Set it back to "${was}", or rebuild the cluster: remove it from tartlab:clusters, run pulumi up`,
        ),
      );
      assert.equal(refusal(config, {}), "", `${key}: a first build is never refused`);
    }
  });

  test("removing a cluster's last worker: refused, naming the workers, the tainted control plane and the fix; removing one of two is not", () => {
    const message = refusal(change((c) => clusters(c)[0].nodes.splice(1)));
    assert.match(
      message,
      /cluster "small" nodes: removing small-worker1, small-worker2 leaves cluster small without workers, but kubeadm tainted its control plane small-master at init .* Keep a worker, or rebuild the cluster/,
    );
    assert.equal(refusal(change((c) => clusters(c)[0].nodes.splice(2))), "");
    assert.equal(
      refusal(
        change((c) => clusters(c)[0].nodes.splice(1)),
        {},
      ),
      "",
      "a first build",
    );
  });

  test("a cluster built anew (its control plane renamed) takes new ranges and no workers", () => {
    const rebuilt = change((c) => {
      clusters(c)[0].nodes = [node("small-cp", "control-plane")];
      clusters(c)[0].podCidr = "10.42.0.0/16";
    });
    assert.equal(refusal(rebuilt), "");
  });
});

describe("a bare minor: a node added or rebuilt later installs exactly the patch the cluster runs", () => {
  const version = (s: State, vm: string) => {
    const env = envIn(s, `${vm}-prepare`);
    return [env.K8S_MINOR, env.K8S_PATCH];
  };

  test("the first build records the control plane's exact version, and a worker added later installs exactly it", async () => {
    const grown = await upOf(change((c) => clusters(c)[0].nodes.push(node("small-worker3"))));
    assert.deepEqual(version(grown, "small-worker3"), ["1.35", "1.35.1"], "not the newest patch");
    assert.equal(recordsOf(state).small?.patch, "1.35.1", "recorded at the first build");
    assert.deepEqual(version(grown, "small-worker1"), ["1.35", ""], "an existing node keeps its steps");
    assert.equal(envIn(grown, "small-small-worker3-join").KUBERNETES_VERSION, "v1.35.1");
  });

  test("setting the exact patch join.sh names pins every node to it without moving a package, so a rebuilt node installs it too", async () => {
    const exact = change((c) => (c["tartlab:kubernetesVersion"] = "1.35.1"));
    for (const mode of ["up", "preview"] as const) {
      const p = await planOf(exact, { mode });
      assert.deepEqual(p.names("replace"), [], mode);
      assert.deepEqual(p.step("small-worker1-prepare").changed, ["stdin"], mode);
    }
    const pinned = await upOf(exact);
    for (const vm of VMS) assert.deepEqual(version(pinned, vm), ["1.35", "1.35.1"], vm);
    const rebuilt = await planOf(exact, { replace: ["small-worker1-clone"] }, pinned);
    assert.equal(rebuilt.op("small-worker1-prepare"), "replace", "prepared again, at 1.35.1");
    assert.deepEqual(recordsOf(pinned).small?.nodes["small-worker1"], "1.35.1");
  });

  test("a record written before the patch was recorded: the configured exact patch of its minor reaches a new node", async () => {
    const old = { ...recordsOf(state).small!, patch: undefined };
    const grown = change((c) => {
      c["tartlab:kubernetesVersion"] = "1.35.1";
      clusters(c)[0].nodes.push(node("small-worker3"));
    });
    const after = await upOf(grown, { ...recordsOf(state), small: old });
    assert.deepEqual(version(after, "small-worker3"), ["1.35", "1.35.1"]);
  });
});
