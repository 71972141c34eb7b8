/**
 * The preview simulator (test/harness/preview.ts) against small hand-made programs whose plan is obvious, one
 * engine rule per test (docs/plans.md lists the rules and their upstream sources).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { FAKE_ADMIN_CONF } from "./harness/pulumi";
import { Plan, PlanOptions, Program, Step, deploy, plan, singleVmViolations } from "./harness/preview";

interface Knobs {
  /** a's script; a change is an in-place update. */
  aCreate?: string;
  /** a's triggers; a change replaces a. */
  aTriggers?: string[];
  aDeleteBeforeReplace?: boolean;
  /** Leave c out (it is deleted) / add d (it is created). */
  withoutC?: boolean;
  withD?: boolean;
  secretStdin?: boolean;
}

/**
 * a -> b (b.stdin is a's stdout: a property dependency); a -> t (t.triggers holds a's stdout); a ..> c (dependsOn
 * only).
 */
function chain(k: Knobs = {}): Program {
  return () => {
    const a = new command.local.Command(
      "a",
      { create: k.aCreate ?? "make a", triggers: k.aTriggers ?? ["1"] },
      { deleteBeforeReplace: k.aDeleteBeforeReplace ?? false },
    );
    new command.local.Command("b", { create: "use a", stdin: a.stdout });
    new command.local.Command("t", { create: "follow a", triggers: [a.stdout] });
    if (!k.withoutC) new command.local.Command("c", { create: "after a" }, { dependsOn: [a] });
    if (k.withD) new command.local.Command("d", { create: "new" });
    new command.local.Command("s", {
      create: "secret stdin",
      stdin: k.secretStdin ? pulumi.secret("same value") : "same value",
    });
  };
}

async function planOf(a: Program, b: Program, opts?: PlanOptions) {
  return plan(await deploy(a), b, opts);
}

describe("preview simulator: Commands", () => {
  test("no change: every resource is the same", async () => {
    const p = await planOf(chain(), chain());
    assert.deepEqual(p.summary(), {});
    assert.equal(p.op("a"), "same");
  });

  test("a changed input updates in place; in preview the update's stdout is unknown to b (update), t (replace)", async () => {
    const p = await planOf(chain(), chain({ aCreate: "make a v2" }));
    assert.deepEqual(p.summary(), { update: ["a", "b"], replace: ["t"] });
    assert.deepEqual(p.step("a").changed, ["create"]);
    assert.deepEqual(p.step("t").replaceKeys, ["triggers"]);
  });

  test("in up mode the update's stdout is known again (unchanged): nothing downstream moves", async () => {
    const p = await planOf(chain(), chain({ aCreate: "make a v2" }), { mode: "up" });
    assert.deepEqual(p.summary(), { update: ["a"] });
  });

  test("up mode: a new stdout flows on: b updated, t replaced", async () => {
    const p = await planOf(chain(), chain({ aCreate: "make a v2" }), {
      mode: "up",
      stdout: (n) => (n === "a" ? "new output" : `stdout-of-${n}`),
    });
    assert.deepEqual(p.summary(), { update: ["a", "b"], replace: ["t"] });
  });

  test("triggers replace; dependsOn-only edges (c) do not cascade", async () => {
    const p = await planOf(chain(), chain({ aTriggers: ["2"] }));
    assert.deepEqual(p.summary(), { update: ["b"], replace: ["a", "t"] });
    assert.equal(p.op("c"), "same");
    assert.deepEqual(p.step("a").replaceKeys, ["triggers"]);
    assert.equal(p.step("a").deleteBeforeReplace, false);
    assert.equal(p.step("t").cascadeOf, undefined, "create-before-delete: no delete-first cascade");
  });

  test("delete-before-replace: dependents that would be replaced are deleted first, in up mode too", async () => {
    const A = chain({ aDeleteBeforeReplace: true });
    const B = chain({ aDeleteBeforeReplace: true, aTriggers: ["2"] });
    for (const mode of ["preview", "up"] as const) {
      const p = await planOf(A, B, { mode });
      assert.equal(p.step("a").deleteBeforeReplace, true, mode);
      assert.equal(p.step("t").op, "replace", mode);
      assert.equal(p.step("t").cascadeOf, "a", mode);
      assert.equal(p.step("t").deleteBeforeReplace, true, mode);
      assert.equal(p.op("c"), "same", `${mode}: dependsOn only`);
      // b's stdin would only be updated: not part of the cascade.
      assert.equal(p.step("b").cascadeOf, undefined, mode);
      assert.equal(p.op("b"), mode === "preview" ? "update" : "same", mode);
    }
  });

  test("a resource left out is deleted, a new one created", async () => {
    const p = await planOf(chain(), chain({ withoutC: true, withD: true }));
    assert.deepEqual(p.summary(), { create: ["d"], delete: ["c"] });
  });

  test("--replace: the named resource is replaced whatever its inputs; its stdout becomes unknown", async () => {
    const p = await planOf(chain(), chain(), { replace: ["a"] });
    assert.deepEqual(p.summary(), { update: ["b"], replace: ["a", "t"] });
    assert.deepEqual(p.step("a").replaceKeys, ["id"]);
  });

  test("inputs compare as resolved values: a value that becomes secret is not a change", async () => {
    const p = await planOf(chain(), chain({ secretStdin: true }));
    assert.equal(p.op("s"), "same");
  });
});

interface ClusterKnobs {
  /** The kubeconfig command's script (a change updates it: its stdout is unknown in preview). */
  kubeconfigScript?: string;
  /** "none" | "constant" | "fromStdout": where the provider's clusterIdentifier comes from. */
  clusterIdentifier?: "none" | "constant" | "fromStdout";
  constantId?: string;
  /** Kubeconfig text the command prints (up mode). */
  server?: string;
}

/** kc (Command printing a kubeconfig) -> provider (kubeconfig = kc.stdout) -> Namespace and ConfigFile on it. */
function cluster(k: ClusterKnobs = {}): Program {
  return () => {
    const kc = new command.remote.Command("kc", {
      connection: { host: "10.0.0.1" },
      create: k.kubeconfigScript ?? "cat admin.conf",
    });
    const id =
      k.clusterIdentifier === "constant"
        ? (k.constantId ?? "cluster-1")
        : k.clusterIdentifier === "fromStdout"
          ? kc.stdout.apply((s) => `id-${s.length}`)
          : undefined;
    const provider = new k8s.Provider("prov", {
      kubeconfig: kc.stdout,
      ...(id === undefined ? {} : { clusterIdentifier: id }),
    });
    new k8s.core.v1.Namespace("ns", { metadata: { name: "apps" } }, { provider });
    // A provider-side component: stands for the objects the provider creates from the file.
    new k8s.yaml.v2.ConfigFile("cf", { file: "app.yaml" }, { provider });
    new command.local.Command("other", { create: "unrelated" }, { dependsOn: [provider] });
  };
}

const conf = (server: string, user = "admin") =>
  FAKE_ADMIN_CONF.replace("https://192.168.64.99:6443", server).replace("kubernetes-admin\n", `${user}\n`);
const kcStdout = (kubeconfig: string) => (n: string) => (n === "kc" ? kubeconfig : `stdout-of-${n}`);

describe("preview simulator: kubernetes provider (DiffConfig)", () => {
  test("kubeconfig unknown, no clusterIdentifier: provider replaced, and everything on it", async () => {
    const p = await planOf(cluster(), cluster({ kubeconfigScript: "cat admin.conf # v2" }));
    assert.deepEqual(p.summary(), { update: ["kc"], replace: ["cf", "ns", "prov"] });
    assert.deepEqual(p.step("prov").replaceKeys, ["kubeconfig"]);
    assert.deepEqual(p.step("ns").replaceKeys, ["provider"]);
    assert.equal(p.op("other"), "same", "dependsOn on the provider does not cascade");
  });

  test("kubeconfig unknown but clusterIdentifier known and unchanged: never replaced", async () => {
    const knobs = { clusterIdentifier: "constant" } as const;
    const p = await planOf(cluster(knobs), cluster({ ...knobs, kubeconfigScript: "v2" }));
    assert.deepEqual(p.summary(), { update: ["kc", "prov"] });
    assert.equal(p.op("ns"), "same");
    assert.equal(p.op("cf"), "same");
  });

  test("clusterIdentifier derived from the command's output: unknown, so replaced", async () => {
    const knobs = { clusterIdentifier: "fromStdout" } as const;
    const p = await planOf(cluster(knobs), cluster({ ...knobs, kubeconfigScript: "v2" }));
    assert.deepEqual(p.summary(), { update: ["kc"], replace: ["cf", "ns", "prov"] });
    assert.deepEqual(p.step("prov").replaceKeys, ["clusterIdentifier", "kubeconfig"]);
  });

  test("a changed clusterIdentifier replaces even with the same kubeconfig", async () => {
    const p = await planOf(
      cluster({ clusterIdentifier: "constant" }),
      cluster({ clusterIdentifier: "constant", constantId: "cluster-2" }),
    );
    assert.deepEqual(p.summary(), { replace: ["cf", "ns", "prov"] });
  });

  test("known kubeconfig: another server replaces, another user of the same cluster only updates", async () => {
    const A = cluster();
    const before = await deploy(A, { stdout: kcStdout(conf("https://10.0.0.1:6443")) });
    const moved = await plan(before, cluster({ kubeconfigScript: "v2" }), {
      mode: "up",
      stdout: kcStdout(conf("https://10.0.0.2:6443")),
    });
    assert.deepEqual(moved.summary(), { update: ["kc"], replace: ["cf", "ns", "prov"] });
    const user = await plan(before, cluster({ kubeconfigScript: "v2" }), {
      mode: "up",
      stdout: kcStdout(conf("https://10.0.0.1:6443", "someone-else")),
    });
    assert.deepEqual(user.summary(), { update: ["kc", "prov"] });
  });

  test("delete-before-replace upstream of a provider: the provider and its resources are deleted first", async () => {
    const prog =
      (size: string): Program =>
      () => {
        const vm = new command.local.Command(
          "vm",
          { create: "start", triggers: [size] },
          { deleteBeforeReplace: true },
        );
        const provider = new k8s.Provider("prov", { kubeconfig: vm.stdout });
        new k8s.core.v1.Namespace("ns", { metadata: { name: "apps" } }, { provider });
      };
    const p = await planOf(prog("2"), prog("4"), { mode: "up" });
    assert.deepEqual(p.summary(), { replace: ["ns", "prov", "vm"] });
    assert.equal(p.step("prov").cascadeOf, "vm");
    assert.equal(p.step("ns").cascadeOf, "vm");
    assert.deepEqual(p.step("ns").replaceKeys, ["provider"]);
  });
});

describe("the single-VM rule", () => {
  const step = (name: string, op: Step["op"], type = "command:local:Command"): Step => ({
    urn: name,
    name,
    type,
    infrastructure: true,
    op,
    changed: [],
    replaceKeys: [],
    deleteBeforeReplace: false,
  });

  test("replacing the VM's own steps is fine; anything else replaced, or any kubernetes provider, is reported", () => {
    const ok = new Plan([
      step("w1-start", "replace"),
      step("c-w1-join", "replace"),
      step("c-w2-join", "update"),
      step("c-k8s", "same", "pulumi:providers:kubernetes"),
    ]);
    assert.deepEqual(singleVmViolations(ok, "w1", "c"), []);
    const bad = new Plan([
      step("w1-start", "replace"),
      step("w10-start", "replace"),
      step("c-k8s", "replace", "pulumi:providers:kubernetes"),
    ]);
    assert.deepEqual(singleVmViolations(bad, "w1", "c"), ["c-k8s replaced", "w10-start replaced"]);
  });
});
