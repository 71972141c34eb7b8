/**
 * The host-kubeconfig step merges the cluster's context into the user's kubeconfig (kind-style) and
 * removes exactly its entries on delete. Runs the real scripts with bash, as Pulumi sends them, and the real
 * ops/kubeconfig.ts through a `node` wrapper that records its argv and whether the kubeconfig leaked into its
 * environment. Effects are asserted on a kubeconfig file that holds unrelated entries.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { labKubeconfig } from "../harness/kubeconfig";
import { Sandbox, sandbox } from "../harness/shell";

const ROOT = path.join(__dirname, "..", "..");
const CLIENT_KEY = "S0VZLXNlY3JldC1jbGllbnQta2V5";

const USER_CONFIG = {
  apiVersion: "v1",
  kind: "Config",
  preferences: { colors: true },
  clusters: [{ name: "kind-kind", cluster: { server: "https://127.0.0.1:6443" } }],
  users: [{ name: "kind-kind", user: { token: "kind-token" } }],
  contexts: [{ name: "kind-kind", context: { cluster: "kind-kind", user: "kind-kind" } }],
  "current-context": "kind-kind",
};
const names = (doc: any, key: string) => (doc[key] ?? []).map((e: any) => e.name);

let sb: Sandbox;
let userFile: string;
beforeEach(() => {
  sb = sandbox();
  // A `node` that records its argv (fake harness) and fails the merge if the kubeconfig is in its environment.
  sb.fake(
    "node",
    `if [ -n "\${KUBECONFIG_CONTENT:-}" ]; then echo "KUBECONFIG_CONTENT leaked into node's environment" >&2; exit 99; fi\n` +
      `exec ${JSON.stringify(process.execPath)} "$@"`,
  );
  userFile = path.join(sb.home, ".kube", "config");
  mkdirSync(path.dirname(userFile), { recursive: true });
  writeFileSync(userFile, stringify(USER_CONFIG), { mode: 0o600 });
});
afterEach(() => sb.dispose());

const env = (over: Record<string, string> = {}) => ({
  CLUSTER_NAME: "dev",
  KUBECONFIG_CONTENT: labKubeconfig("dev", { clientKey: CLIENT_KEY }),
  KUBECONFIG_MERGE: "true",
  SET_CURRENT_CONTEXT: "false",
  TARTLAB_PROJECT_DIR: ROOT,
  ...over,
});

const step = (
  action: "create" | "delete",
  e: Record<string, string>,
  processEnv: Record<string, string> = {},
) =>
  sb.run({
    script: "kubeadm-cluster/host-kubeconfig.sh",
    deleteScript: "kubeadm-cluster/host-kubeconfig-remove.sh",
    action,
    env: e,
    processEnv,
  });

const userDoc = () => parse(readFileSync(userFile, "utf8"));
const without = (doc: any, name: string) =>
  Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [k, Array.isArray(v) ? v.filter((e: any) => e.name !== name) : v]),
  );

describe("host-kubeconfig.sh: kind-style contexts in the user's kubeconfig", () => {
  test("create merges tartlab-<cluster>, keeps every other entry and the current context; the key never in argv", async () => {
    const r = await step("create", env());
    assert.equal(r.code, 0, r.stderr);
    const doc = userDoc();
    for (const key of ["clusters", "users", "contexts"]) {
      assert.deepEqual(names(doc, key), [...names(USER_CONFIG, key), "tartlab-dev"], key);
    }
    assert.deepEqual(without(doc, "tartlab-dev"), USER_CONFIG, "unrelated entries unchanged");
    assert.equal(doc["current-context"], "kind-kind");
    assert.equal(doc.users[1].user["client-key-data"], CLIENT_KEY);
    assert.ok(existsSync(path.join(sb.home, ".tartlab/kube/dev.yaml")), "the per-cluster file too (V10)");
    assert.deepEqual(
      r.calls.filter((c) => c.startsWith("node")),
      ["node --import tsx ops/kubeconfig.ts merge dev"],
    );
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(CLIENT_KEY));
    assert.match(r.stderr, /context tartlab-dev merged into .*\.kube\/config/);
  });

  test("SET_CURRENT_CONTEXT=true makes the cluster's context current", async () => {
    const r = await step("create", env({ SET_CURRENT_CONTEXT: "true" }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(userDoc()["current-context"], "tartlab-dev");
  });

  test("the target is the first path of $KUBECONFIG", async () => {
    const first = path.join(sb.dir, "first.yaml");
    const second = path.join(sb.dir, "second.yaml");
    const r = await step("create", env(), { KUBECONFIG: `${first}:${second}` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(names(parse(readFileSync(first, "utf8")), "contexts"), ["tartlab-dev"]);
    assert.ok(!existsSync(second));
    assert.deepEqual(userDoc(), USER_CONFIG, "~/.kube/config untouched");
  });

  test("merge off: files only, the user's kubeconfig keeps its bytes; an earlier merge is undone", async () => {
    const before = readFileSync(userFile, "utf8");
    const off = await step("create", env({ KUBECONFIG_MERGE: "false" }));
    assert.equal(off.code, 0, off.stderr);
    assert.equal(readFileSync(userFile, "utf8"), before);
    assert.ok(existsSync(path.join(sb.home, ".tartlab/kube/dev.yaml")));

    assert.equal((await step("create", env())).code, 0);
    assert.ok(names(userDoc(), "contexts").includes("tartlab-dev"));
    const again = await step("create", env({ KUBECONFIG_MERGE: "false" }));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(userDoc(), USER_CONFIG);
  });

  test("delete removes exactly the cluster's entries and its file; other lab clusters stay", async () => {
    assert.equal(
      (
        await step(
          "create",
          env({
            CLUSTER_NAME: "staging",
            KUBECONFIG_CONTENT: labKubeconfig("staging", { clientKey: CLIENT_KEY }),
          }),
        )
      ).code,
      0,
    );
    assert.equal((await step("create", env({ SET_CURRENT_CONTEXT: "true" }))).code, 0);
    const r = await step("delete", env());
    assert.equal(r.code, 0, r.stderr);
    const doc = userDoc();
    assert.deepEqual(names(doc, "contexts"), ["kind-kind", "tartlab-staging"]);
    assert.deepEqual(without(doc, "tartlab-staging"), { ...USER_CONFIG, "current-context": "" });
    assert.ok(!existsSync(path.join(sb.home, ".tartlab/kube/dev.yaml")));
    assert.ok(existsSync(path.join(sb.home, ".tartlab/kube/staging.yaml")));
    // Idempotent: deleting again succeeds and changes nothing.
    const before = readFileSync(userFile, "utf8");
    assert.equal((await step("delete", env())).code, 0);
    assert.equal(readFileSync(userFile, "utf8"), before);
  });

  test("no project in the passed dir nor the working directory: a clear error, the kubeconfig unchanged", async () => {
    // The harness runs bash in the sandbox dir, which is not a project either.
    const r = await step("create", env({ TARTLAB_PROJECT_DIR: path.join(sb.dir, "gone") }));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot find ops\/kubeconfig\.ts in .*gone or .*; run pulumi in the tartlab project directory/,
    );
    assert.match(
      r.stderr,
      /could not merge context tartlab-dev into your kubeconfig .*tartlab:kubeconfig\.merge false/,
    );
    assert.deepEqual(userDoc(), USER_CONFIG);
  });

  test("KUBECONFIG_MERGE other than true/false: refused, the user's kubeconfig unchanged", async () => {
    const r = await step("create", env({ KUBECONFIG_MERGE: "yes" }));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KUBECONFIG_MERGE must be true or false, got "yes"/);
    assert.deepEqual(userDoc(), USER_CONFIG);
  });

  test("a held lock fails the step with the lock's path, the file unchanged", async () => {
    writeFileSync(`${userFile}.lock`, "");
    const before = readFileSync(userFile, "utf8");
    const r = await step("create", env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is locked by .*config\.lock/);
    assert.equal(readFileSync(userFile, "utf8"), before);
  });
});
