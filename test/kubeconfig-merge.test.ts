import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import {
  kubeconfigTarget,
  mergeIntoKubeconfigFile,
  mergeKubeconfig,
  removeFromKubeconfig,
  removeFromKubeconfigFile,
} from "../mac/kubeconfig-merge";
import { labKubeconfig } from "./harness/kubeconfig";

const ROOT = path.join(__dirname, "..");

/** A user's kubeconfig with a kind cluster, an EKS-style exec user, preferences and an unrelated current context. */
const USER_CONFIG = {
  apiVersion: "v1",
  kind: "Config",
  preferences: { colors: true },
  clusters: [
    {
      name: "kind-kind",
      cluster: { server: "https://127.0.0.1:6443", "certificate-authority-data": "a2luZA==" },
    },
    { name: "prod", cluster: { server: "https://prod.example:443", "insecure-skip-tls-verify": false } },
  ],
  users: [
    { name: "kind-kind", user: { token: "kind-token" } },
    {
      name: "prod",
      user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws", args: ["eks"] } },
    },
  ],
  contexts: [
    { name: "kind-kind", context: { cluster: "kind-kind", user: "kind-kind" } },
    { name: "prod", context: { cluster: "prod", user: "prod", namespace: "payments" } },
  ],
  "current-context": "prod",
};

const names = (doc: any, key: string) => (doc[key] ?? []).map((e: any) => e.name);
const without = (doc: any, name: string) =>
  Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [k, Array.isArray(v) ? v.filter((e: any) => e.name !== name) : v]),
  );

const made: string[] = [];
/** A temporary directory, removed when this file's tests end (npm test fails on leftovers in TMPDIR). */
function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tartlab-kc-"));
  made.push(dir);
  return dir;
}
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe("kubeconfig merge (pure)", () => {
  test("keeps every other entry equal and adds exactly the lab's cluster, user and context", () => {
    const merged = parse(mergeKubeconfig(stringify(USER_CONFIG), labKubeconfig("dev"), "dev"));
    assert.deepEqual(without(merged, "tartlab-dev"), USER_CONFIG);
    const lab = parse(labKubeconfig("dev"));
    for (const key of ["clusters", "users", "contexts"]) {
      assert.deepEqual(names(merged, key), [...names(USER_CONFIG, key), "tartlab-dev"]);
      assert.deepEqual(merged[key].at(-1), lab[key][0]);
    }
    assert.equal(merged["current-context"], "prod", "current context unchanged unless asked");
  });

  test("re-merging replaces the lab's entries (new server), no duplicates", () => {
    const once = mergeKubeconfig(stringify(USER_CONFIG), labKubeconfig("dev"), "dev");
    const twice = parse(
      mergeKubeconfig(once, labKubeconfig("dev", { server: "https://192.168.64.99:6443" }), "dev"),
    );
    assert.deepEqual(names(twice, "clusters"), ["kind-kind", "prod", "tartlab-dev"]);
    assert.equal(twice.clusters[2].cluster.server, "https://192.168.64.99:6443");
    assert.deepEqual(without(twice, "tartlab-dev"), USER_CONFIG);
  });

  test("sets the current context only when asked", () => {
    const merged = parse(
      mergeKubeconfig(stringify(USER_CONFIG), labKubeconfig("dev"), "dev", { setCurrent: true }),
    );
    assert.equal(merged["current-context"], "tartlab-dev");
  });

  test("removal removes exactly the lab's entries for that cluster", () => {
    let text = mergeKubeconfig(stringify(USER_CONFIG), labKubeconfig("dev"), "dev");
    text = mergeKubeconfig(text, labKubeconfig("staging"), "staging");
    const removed = parse(removeFromKubeconfig(text, "dev"));
    assert.deepEqual(without(removed, "tartlab-staging"), USER_CONFIG);
    assert.deepEqual(names(removed, "contexts"), ["kind-kind", "prod", "tartlab-staging"]);
  });

  test("removing the current context clears it (as kind does)", () => {
    const text = mergeKubeconfig(stringify(USER_CONFIG), labKubeconfig("dev"), "dev", { setCurrent: true });
    assert.equal(parse(removeFromKubeconfig(text, "dev"))["current-context"], "");
  });

  test("refuses a kubeconfig that is not tartlab's and a malformed target", () => {
    assert.throws(
      () => mergeKubeconfig(stringify(USER_CONFIG), stringify(USER_CONFIG), "dev"),
      /has no cluster named "tartlab-dev"/,
    );
    assert.throws(
      () => mergeKubeconfig("clusters: {a: 1}\n", labKubeconfig("dev"), "dev"),
      /"clusters" must be a list/,
    );
  });
});

describe("kubeconfig file", () => {
  test("target: first non-empty path of $KUBECONFIG, else ~/.kube/config", () => {
    assert.equal(kubeconfigTarget({ KUBECONFIG: "/a/one:/b/two", HOME: "/h" }), "/a/one");
    assert.equal(kubeconfigTarget({ KUBECONFIG: ":/b/two", HOME: "/h" }), "/b/two");
    assert.equal(kubeconfigTarget({ KUBECONFIG: "", HOME: "/h" }), "/h/.kube/config");
    assert.equal(kubeconfigTarget({ HOME: "/h" }), "/h/.kube/config");
  });

  test("creates ~/.kube/config (dir 700, file 600) when absent; removal leaves other files alone", async () => {
    const home = tmp();
    const env = { HOME: home };
    const file = await mergeIntoKubeconfigFile("dev", labKubeconfig("dev"), { env });
    assert.equal(file, path.join(home, ".kube", "config"));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(names(parse(readFileSync(file, "utf8")), "contexts"), ["tartlab-dev"]);
    assert.ok(!existsSync(`${file}.lock`), "lock removed after the write");
    assert.deepEqual(await removeFromKubeconfigFile("dev", { env }), { file, removed: true });
    assert.deepEqual(names(parse(readFileSync(file, "utf8")), "contexts"), []);
    assert.deepEqual(await removeFromKubeconfigFile("dev", { env }), { file, removed: false });
    const absent = path.join(home, "nope");
    assert.deepEqual(await removeFromKubeconfigFile("dev", { env: { KUBECONFIG: absent } }), {
      file: absent,
      removed: false,
    });
    assert.ok(!existsSync(absent), "removal does not create a file");
  });

  test("with several $KUBECONFIG paths only the first changes; its mode is kept", async () => {
    const dir = tmp();
    const [first, second] = [path.join(dir, "first"), path.join(dir, "second")];
    writeFileSync(first, stringify(USER_CONFIG), { mode: 0o640 });
    writeFileSync(second, "apiVersion: v1\nkind: Config\n# untouched\n");
    const env = { HOME: dir, KUBECONFIG: [first, second].join(path.delimiter) };
    await mergeIntoKubeconfigFile("dev", labKubeconfig("dev"), { env });
    assert.deepEqual(without(parse(readFileSync(first, "utf8")), "tartlab-dev"), USER_CONFIG);
    assert.equal(statSync(first).mode & 0o777, 0o640);
    assert.equal(readFileSync(second, "utf8"), "apiVersion: v1\nkind: Config\n# untouched\n");
  });

  test("a held (or stale) lock times out with a message naming the lock; the file is untouched", async () => {
    const dir = tmp();
    const file = path.join(dir, "config");
    writeFileSync(file, stringify(USER_CONFIG));
    writeFileSync(`${file}.lock`, "");
    await assert.rejects(
      mergeIntoKubeconfigFile("dev", labKubeconfig("dev"), { env: { KUBECONFIG: file }, timeoutMs: 300 }),
      (e: Error) => {
        assert.match(e.message, /is locked by .*config\.lock/);
        assert.match(e.message, /remove .*config\.lock and retry/);
        return true;
      },
    );
    assert.deepEqual(parse(readFileSync(file, "utf8")), USER_CONFIG);
    assert.ok(existsSync(`${file}.lock`), "someone else's lock is not removed");
  });
});

/** ops/kubeconfig.ts as a separate process; the kubeconfig goes in on stdin. */
function cli(
  args: string[],
  env: Record<string, string>,
  stdin = "",
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "ops/kubeconfig.ts"), ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
      },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
    child.stdin.end(stdin);
  });
}

describe("ops/kubeconfig.ts", () => {
  test("two concurrent merges wait for the lock and both land", async () => {
    const dir = tmp();
    const file = path.join(dir, "config");
    writeFileSync(file, stringify(USER_CONFIG));
    writeFileSync(`${file}.lock`, ""); // held by "kubectl" while both start
    const env = { HOME: dir, KUBECONFIG: file };
    const runs = [
      cli(["merge", "dev"], env, labKubeconfig("dev")),
      cli(["merge", "staging"], env, labKubeconfig("staging")),
    ];
    await new Promise((r) => setTimeout(r, 2500)); // both processes are up and waiting (tsx start-up included)
    assert.deepEqual(parse(readFileSync(file, "utf8")), USER_CONFIG, "nobody wrote while the lock was held");
    unlinkSync(`${file}.lock`);
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const merged = parse(readFileSync(file, "utf8"));
    // Order depends on who got the lock first; both are there, nothing else changed.
    assert.deepEqual(names(merged, "contexts").slice(2).sort(), ["tartlab-dev", "tartlab-staging"]);
    assert.deepEqual(without(without(merged, "tartlab-dev"), "tartlab-staging"), USER_CONFIG);
    assert.ok(!existsSync(`${file}.lock`));
  });

  test("remove via the CLI; usage errors exit 2; an empty stdin is refused", async () => {
    const dir = tmp();
    const file = path.join(dir, "config");
    writeFileSync(file, mergeKubeconfig(stringify(USER_CONFIG), labKubeconfig("dev"), "dev"));
    const env = { HOME: dir, KUBECONFIG: file };
    assert.equal((await cli(["remove", "dev"], env)).code, 0);
    assert.deepEqual(parse(readFileSync(file, "utf8")), USER_CONFIG);
    assert.equal((await cli(["merge"], env)).code, 2);
    assert.equal((await cli(["frobnicate", "dev"], env)).code, 2);
    const empty = await cli(["merge", "dev"], env, "");
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no kubeconfig on stdin/);
  });
});
