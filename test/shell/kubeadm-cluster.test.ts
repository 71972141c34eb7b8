import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { userInfo } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { Sandbox, sandbox } from "../harness/shell";
import { parseJoinToken } from "../../lib/kubeadm";

let sb: Sandbox;
let root: string;
beforeEach(() => {
  sb = sandbox();
  root = path.join(sb.dir, "root");
  for (const d of ["etc/kubernetes/pki", "var/log"]) mkdirSync(path.join(root, d), { recursive: true });
});
afterEach(() => sb.dispose());

const run = (
  script: string,
  env: Record<string, string>,
  processEnv: Record<string, string> = {},
  deleteScript?: string,
) =>
  sb.run({
    script,
    deleteScript,
    env,
    processEnv: { TARTLAB_ROOT: root, ...processEnv },
    action: deleteScript ? "delete" : "create",
  });

describe("kubeadm-cluster/init.sh", () => {
  const me = userInfo();
  const env = {
    NODE_NAME: "dev-master",
    KUBEADM_CONFIG: "kind: InitConfiguration\n",
    LOGIN_USER: me.username,
    KUBERNETES_VERSION: "v1.35.2",
  };
  /** A fake kubeadm of version v1.35.2 that runs `body` for every other command. */
  const kubeadm = (body: string) =>
    sb.fake("kubeadm", `[ "$1 $2" = "version -o" ] && { echo v1.35.2; exit 0; }\n${body}`);
  const adminConf = () => path.join(root, "etc/kubernetes/admin.conf");

  test("fresh node: kubeadm init from the config; kubeconfig for the login user (V10); no token in output", async () => {
    kubeadm(`echo "kubeadm join 1.2.3.4:6443 --token abcdef.0123456789abcdef"; echo admin >"${adminConf()}"`);
    const r = await run("kubeadm-cluster/init.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.calls.includes("kubeadm init --config /etc/tartlab/kubeadm-init.yaml"));
    assert.equal(
      readFileSync(path.join(root, "etc/tartlab/kubeadm-init.yaml"), "utf8"),
      "kind: InitConfiguration\n\n",
    );
    assert.equal(readFileSync(path.join(root, me.homedir, ".kube/config"), "utf8"), "admin\n");
    assert.doesNotMatch(r.stdout + r.stderr, /--token/);
  });

  test("already initialised: no second kubeadm init", async () => {
    writeFileSync(adminConf(), "admin\n");
    sb.fake("kubeadm", "exit 99");
    const r = await run("kubeadm-cluster/init.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm")));
    assert.match(r.stderr, /already initialised; not running kubeadm init again/);
  });

  test("failed init: clear error with the log's tail, token lines removed", async () => {
    kubeadm('echo "[preflight] Some fatal errors occurred: port 6443 in use"; echo "--token secret"; exit 1');
    const r = await run("kubeadm-cluster/init.sh", env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubeadm init on dev-master failed or took over 900s/);
    assert.match(r.stderr, /port 6443 in use/);
    assert.doesNotMatch(r.stderr, /--token/);
  });

  test("a kubeadm of another version than the config names: refused before kubeadm init", async () => {
    kubeadm(`echo admin >"${adminConf()}"`);
    const r = await run("kubeadm-cluster/init.sh", { ...env, KUBERNETES_VERSION: "v1.35.3" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /dev-master has kubeadm v1\.35\.2, but the cluster config says v1\.35\.3/);
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm init")));
    assert.ok(!existsSync(adminConf()));
  });
});

/** Writes a real self-signed CA to etc/kubernetes/pki/ca.crt and returns its kubeadm discovery hash. */
function makeCa(): string {
  const pki = path.join(root, "etc/kubernetes/pki");
  const args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kubernetes", "-days", "1"];
  execFileSync("openssl", [...args, "-keyout", path.join(pki, "ca.key"), "-out", path.join(pki, "ca.crt")], {
    stdio: "ignore",
  });
  const spki = createPublicKey(readFileSync(path.join(pki, "ca.crt"))).export({
    type: "spki",
    format: "der",
  });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

describe("kubeadm-cluster/join-token.sh", () => {
  test("prints a fresh token and the CA public-key hash kubeadm's discovery expects", async () => {
    // A real CA certificate; the expected hash is computed independently (sha256 of the DER SubjectPublicKeyInfo).
    const expected = makeCa();
    sb.fake("kubeadm", 'echo "abcdef.0123456789abcdef"');
    const r = await run("kubeadm-cluster/join-token.sh", { WORKER_NAME: "dev-worker1" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `token abcdef.0123456789abcdef\ncaCertHash ${expected}\n`);
    assert.deepEqual(r.calls, ["kubeadm token create --ttl 2h --description tartlab join of dev-worker1"]);
    assert.deepEqual(parseJoinToken(r.stdout), { token: "abcdef.0123456789abcdef", caCertHash: expected });
  });
});

describe("kubeadm-cluster/netcheck.sh (T03)", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  test("API server reachable: passes at once", async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const r = await run("kubeadm-cluster/netcheck.sh", {
      NODE_NAME: "dev-worker1",
      API_SERVER: `127.0.0.1:${port}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /dev-worker1 reaches 127\.0\.0\.1:/);
  });

  test("API server unreachable: clear error after the timeout", async () => {
    // A port nothing listens on (bound, then closed).
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    sb.fake("ip", 'echo "127.0.0.1 dev lo"');
    const t0 = Date.now();
    const r = await run("kubeadm-cluster/netcheck.sh", {
      NODE_NAME: "dev-worker1",
      API_SERVER: `127.0.0.1:${port}`,
      NETCHECK_TIMEOUT_SECONDS: "2",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`dev-worker1 cannot reach the API server 127\\.0\\.0\\.1:${port} after 2s \\(T03\\)`),
    );
    assert.match(r.stderr, /--net-softnet-allow=0\.0\.0\.0\/0/);
    assert.ok(Date.now() - t0 < 15_000);
  });
});

describe("kubeadm-cluster/join.sh (V09)", () => {
  const env = {
    NODE_NAME: "dev-worker1",
    JOIN_CONFIG: "kind: JoinConfiguration\n",
    CA_CERT_HASH: `sha256:${"0".repeat(64)}`,
    KUBERNETES_VERSION: "v1.35.2",
    RETRY_PAUSE_SECONDS: "0",
  };
  const kubeadm = (body: string) =>
    sb.fake("kubeadm", `[ "$1 $2" = "version -o" ] && { echo v1.35.2; exit 0; }\n${body}`);
  const kubeadmCalls = (calls: string[]) => calls.filter((c) => c !== "kubeadm version -o short");

  test("already joined to this cluster: no second join", async () => {
    const hash = makeCa();
    writeFileSync(path.join(root, "etc/kubernetes/kubelet.conf"), "x");
    kubeadm("exit 99");
    const r = await run("kubeadm-cluster/join.sh", { ...env, CA_CERT_HASH: hash });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm")));
    assert.match(r.stderr, /already joined this cluster/);
  });

  test("joined to another cluster (control plane rebuilt): reset, then join this one", async () => {
    makeCa();
    writeFileSync(path.join(root, "etc/kubernetes/kubelet.conf"), "x");
    kubeadm("exit 0");
    const r = await run("kubeadm-cluster/join.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(kubeadmCalls(r.calls), [
      "kubeadm reset -f",
      "kubeadm join --config /etc/tartlab/kubeadm-join.yaml",
    ]);
    assert.match(r.stderr, /belongs to another cluster/);
  });

  test("a failed attempt is reset and retried", async () => {
    kubeadm(
      `if [ "$1" = join ] && [ ! -f "$FAKE_CALLS.once" ]; then touch "$FAKE_CALLS.once"; echo "couldn't validate the identity of the API Server"; exit 1; fi`,
    );
    const r = await run("kubeadm-cluster/join.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(kubeadmCalls(r.calls), [
      "kubeadm join --config /etc/tartlab/kubeadm-join.yaml",
      "kubeadm reset -f",
      "kubeadm join --config /etc/tartlab/kubeadm-join.yaml",
    ]);
    assert.match(r.stderr, /attempt 1 of 3/);
    assert.ok(!existsSync(path.join(root, "etc/tartlab/kubeadm-join.yaml")), "the token file is removed");
  });

  test("gives up after the bounded attempts and says what it waited for", async () => {
    kubeadm('[ "$1" = join ] && { echo "timed out waiting for the condition"; exit 1; }; exit 0');
    const r = await run("kubeadm-cluster/join.sh", { ...env, JOIN_ATTEMPTS: "2" });
    assert.equal(r.code, 1);
    assert.equal(r.calls.filter((c) => c.startsWith("kubeadm join")).length, 2);
    assert.match(
      r.stderr,
      /dev-worker1 could not join: 2 attempts of up to 300s each waiting for kubeadm join/,
    );
    assert.match(r.stderr, /timed out waiting for the condition/);
  });

  test("a hanging join is cut off by its timeout", async () => {
    kubeadm('[ "$1" = join ] && sleep 30; exit 0');
    const t0 = Date.now();
    const r = await run("kubeadm-cluster/join.sh", { ...env, JOIN_ATTEMPTS: "1", JOIN_TIMEOUT_SECONDS: "1" });
    assert.equal(r.code, 1);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test("a worker whose kubeadm differs from the control plane's is refused with the fix", async () => {
    kubeadm("exit 0");
    const r = await run("kubeadm-cluster/join.sh", { ...env, KUBERNETES_VERSION: "v1.35.1" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /dev-worker1 has kubeadm v1\.35\.2 but the control plane runs v1\.35\.1; refusing to join\. Set tartlab:kubernetesVersion to "1\.35\.1"/,
    );
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm join")));
  });
});

describe("cluster membership and readiness (on the control plane)", () => {
  test("member-remove: drains then deletes a present node", async () => {
    sb.fake("kubectl", "exit 0");
    const r = await run(
      "kubeadm-cluster/member-wait.sh",
      { WORKER_NAME: "dev-worker1" },
      {},
      "kubeadm-cluster/member-remove.sh",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, [
      "kubectl get node dev-worker1 -o jsonpath={.metadata.name}",
      "kubectl drain dev-worker1 --ignore-daemonsets --delete-emptydir-data --force --timeout=180s",
      "kubectl delete node dev-worker1 --ignore-not-found --timeout=60s",
    ]);
  });

  test("member-remove: a node already gone is fine", async () => {
    sb.fake("kubectl", 'echo "Error from server (NotFound)" >&2; exit 1');
    const r = await run(
      "kubeadm-cluster/member-wait.sh",
      { WORKER_NAME: "dev-worker1" },
      {},
      "kubeadm-cluster/member-remove.sh",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls.length, 1);
  });

  test("nodes-ready: waits on each named node with kubectl wait, retrying until registered (T05)", async () => {
    sb.fake(
      "kubectl",
      `if [ ! -f "$FAKE_CALLS.n" ]; then touch "$FAKE_CALLS.n"; echo 'Error from server (NotFound): nodes "dev-worker1" not found' >&2; exit 1; fi; exit 0`,
    );
    const r = await run(
      "cilium-install/nodes-ready.sh",
      { CLUSTER_NAME: "dev", EXPECTED_NODES: "dev-master dev-worker1" },
      {},
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls.length, 2);
    assert.match(
      r.calls[1],
      /^kubectl wait --for=condition=Ready --timeout=\d+s node\/dev-master node\/dev-worker1$/,
    );
  });

  test("nodes-ready: clear error naming the nodes after the timeout", async () => {
    sb.fake("kubectl", '[ "$1" = wait ] && exit 1; echo "NAME STATUS"');
    const r = await run("cilium-install/nodes-ready.sh", {
      CLUSTER_NAME: "dev",
      EXPECTED_NODES: "dev-master dev-worker1",
      READY_TIMEOUT_SECONDS: "1",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cluster dev: nodes not all Ready after 1s \(waited for: dev-master dev-worker1\)/,
    );
  });
});

describe("kubeadm-cluster/host-kubeconfig.sh (V10, on the Mac)", () => {
  test("writes ~/.tartlab/kube/<cluster>.yaml readable only by the user; delete removes it", async () => {
    const env = {
      CLUSTER_NAME: "dev",
      KUBECONFIG_CONTENT: "apiVersion: v1\nkind: Config\n",
      KUBECONFIG_MERGE: "false", // merging: test/shell/host-kubeconfig.test.ts
      SET_CURRENT_CONTEXT: "false",
      TARTLAB_PROJECT_DIR: path.join(__dirname, "..", ".."),
    };
    const write = await sb.run({
      script: "kubeadm-cluster/host-kubeconfig.sh",
      deleteScript: "kubeadm-cluster/host-kubeconfig-remove.sh",
      env,
    });
    assert.equal(write.code, 0, write.stderr);
    const file = path.join(sb.home, ".tartlab/kube/dev.yaml");
    assert.equal(readFileSync(file, "utf8"), "apiVersion: v1\nkind: Config\n\n");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.doesNotMatch(write.stdout + write.stderr, /apiVersion/);
    const remove = await sb.run({
      script: "kubeadm-cluster/host-kubeconfig.sh",
      deleteScript: "kubeadm-cluster/host-kubeconfig-remove.sh",
      action: "delete",
      env,
    });
    assert.equal(remove.code, 0, remove.stderr);
    assert.ok(!existsSync(file));
  });
});
