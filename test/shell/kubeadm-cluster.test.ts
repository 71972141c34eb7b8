import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:net";
import { userInfo } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { HANG } from "../harness/node";
import { JOIN_ENV, fakeKubeadm } from "../harness/kubeadm";
import { Sandbox, sandbox } from "../harness/shell";
import { parseJoinToken } from "../../lib/kubeadm";

// A root shell's usual umask: a file whose mode a script does not set comes out world-readable (644) here.
process.umask(0o022);

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
  const kubeadm = (body: string) => fakeKubeadm(sb, body);
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

  /** An initialised control plane whose API server advertises `ip` (kubeadm's manifest line). */
  const initialised = (ip: string) => {
    writeFileSync(adminConf(), "admin\n");
    mkdirSync(path.join(root, "etc/kubernetes/manifests"), { recursive: true });
    writeFileSync(
      path.join(root, "etc/kubernetes/manifests/kube-apiserver.yaml"),
      `spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --advertise-address=${ip}\n`,
    );
  };
  const configAt = (ip: string) =>
    `apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: ${ip}\n  bindPort: 6443\n`;

  test("already initialised: no second kubeadm init", async () => {
    initialised("192.168.64.10");
    sb.fake("kubeadm", "exit 99");
    const r = await run("kubeadm-cluster/init.sh", { ...env, KUBEADM_CONFIG: configAt("192.168.64.10") });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm")));
    assert.match(r.stderr, /already initialised; not running kubeadm init again/);
  });

  // Re-addressing itself: test/shell/readdress.test.ts (on fake nodes).
  test("already initialised, but the config has no advertise address: refused, nothing changed", async () => {
    initialised("192.168.64.10");
    sb.fake("kubeadm", "exit 99");
    const r = await run("kubeadm-cluster/init.sh", env);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /KUBEADM_CONFIG for dev-master has no IPv4 localAPIEndpoint\.advertiseAddress \(got ""\)/,
    );
    assert.ok(!r.calls.some((c) => c.startsWith("kubeadm") || c.startsWith("systemctl")));
  });

  test("already initialised, but its API server manifest names no address: refused, nothing changed", async () => {
    writeFileSync(adminConf(), "admin\n");
    sb.fake("kubeadm", "exit 99");
    const r = await run("kubeadm-cluster/init.sh", { ...env, KUBEADM_CONFIG: configAt("192.168.64.10") });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /kube-apiserver\.yaml names no --advertise-address; cannot tell whether its address changed/,
    );
    assert.ok(!existsSync(path.join(root, "etc/tartlab/readdress-from")));
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

/**
 * A TCP port whose connects hang (packets dropped, like a blocked VM-to-VM path): a listener with a full accept
 * queue that never accepts, until the test stops it. python3, because Node's net.Server always accepts.
 */
async function blackhole(): Promise<{ port: number; stop(): void }> {
  const py = `import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fill.append(c)
print(port, flush=True)
while True: time.sleep(3600)`;
  const child = spawn("python3", ["-c", py], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    child.once("error", reject);
  });
  return { port, stop: () => child.kill("SIGKILL") };
}

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

  test("a hanging kubeadm token create is cut off by its timeout, with a message", async () => {
    makeCa();
    sb.fake("kubeadm", HANG);
    const r = await sb.run({
      script: "kubeadm-cluster/join-token.sh",
      env: { WORKER_NAME: "dev-worker1", TOKEN_TIMEOUT_SECONDS: "0.05" },
      processEnv: { TARTLAB_ROOT: root },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubeadm token create for dev-worker1 failed or took over 0\.05s/);
    assert.equal(r.stdout, "", "no half output a parser could mistake for a token");
  });

  for (const [what, body] of [
    ["failing", 'echo "error: couldn\'t create a token" >&2; exit 1'],
    ["malformed output", 'echo "W1125 some warning"'],
    ["empty output", "exit 0"],
  ] as const) {
    test(`kubeadm token create ${what}: clear error, nothing printed`, async () => {
      makeCa();
      sb.fake("kubeadm", body);
      const r = await run("kubeadm-cluster/join-token.sh", { WORKER_NAME: "dev-worker1" });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /kubeadm token create for dev-worker1 (failed|printed no bootstrap token)/);
      assert.equal(r.stdout, "");
    });
  }

  test("no CA certificate: clear error instead of an empty hash", async () => {
    sb.fake("kubeadm", 'echo "abcdef.0123456789abcdef"');
    const r = await run("kubeadm-cluster/join-token.sh", { WORKER_NAME: "dev-worker1" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot hash the cluster CA public key from \/etc\/kubernetes\/pki\/ca\.crt/);
    assert.equal(r.stdout, "");
  });
});

describe("kubeadm-cluster/kubeconfig.sh", () => {
  test("prints admin.conf exactly", async () => {
    writeFileSync(path.join(root, "etc/kubernetes/admin.conf"), "apiVersion: v1\nkind: Config\n");
    const r = await run("kubeadm-cluster/kubeconfig.sh", {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "apiVersion: v1\nkind: Config\n");
  });

  test("init not done (no admin.conf): clear error, nothing on stdout", async () => {
    const r = await run("kubeadm-cluster/kubeconfig.sh", {});
    assert.equal(r.code, 1);
    assert.match(r.stderr, /admin\.conf is missing or empty: kubeadm init has not completed/);
    assert.equal(r.stdout, "");
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
    const r = await run("kubeadm-cluster/netcheck.sh", {
      NODE_NAME: "dev-worker1",
      API_SERVER: `127.0.0.1:${port}`,
      NETCHECK_TIMEOUT_SECONDS: "0",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`dev-worker1 cannot reach the API server 127\\.0\\.0\\.1:${port} after 0s \\(T03\\)`),
    );
    assert.match(r.stderr, /--net-softnet-allow=0\.0\.0\.0\/0/);
    assert.match(r.stderr, /Route from dev-worker1: 127\.0\.0\.1 dev lo/);
  });

  test("a probe that hangs (packets dropped) is cut off by the probe timeout and the deadline holds", async () => {
    const hole = await blackhole();
    try {
      sb.fake("ip", 'echo "127.0.0.1 dev lo"');
      const r = await run("kubeadm-cluster/netcheck.sh", {
        NODE_NAME: "dev-worker1",
        API_SERVER: `127.0.0.1:${hole.port}`,
        NETCHECK_TIMEOUT_SECONDS: "0",
        NETCHECK_PROBE_SECONDS: "0.05",
        NETCHECK_POLL_SECONDS: "0",
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot reach the API server 127\.0\.0\.1:\d+ after 0s/);
    } finally {
      hole.stop();
    }
  });

  test("reachable only on the third probe: waits, then passes", async () => {
    // The port is closed for the first two probes; the third waits until the test listens on it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const realTimeout = execFileSync("bash", ["-c", "type -P timeout"], { encoding: "utf8" }).trim();
    sb.fake(
      "timeout",
      `if [ "$(grep -c '^timeout ' "$FAKE_CALLS")" = 3 ]; then
  : >"$FAKE_CALLS.third"
  while [ ! -e "$FAKE_CALLS.listening" ]; do sleep 0.02; done
fi
exec ${realTimeout} "$@"`,
    );
    const running = run("kubeadm-cluster/netcheck.sh", {
      NODE_NAME: "dev-worker1",
      API_SERVER: `127.0.0.1:${port}`,
      NETCHECK_TIMEOUT_SECONDS: "60",
      NETCHECK_POLL_SECONDS: "0.01",
    });
    let done = false;
    void running.finally(() => (done = true));
    while (!done && !existsSync(`${sb.dir}/calls.log.third`)) await new Promise((r) => setTimeout(r, 10));
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server!.listen(port, "127.0.0.1", r));
    writeFileSync(`${sb.dir}/calls.log.listening`, "");
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls.filter((c) => c.startsWith("timeout ")).length, 3, "two refused probes, then one");
    assert.match(r.stderr, /dev-worker1 reaches 127\.0\.0\.1:/);
  });
});

describe("kubeadm-cluster/join.sh (V09)", () => {
  const env = JOIN_ENV;
  const kubeadm = (body: string) => fakeKubeadm(sb, body);
  const kubeadmCalls = (calls: string[]) => calls.filter((c) => c !== "kubeadm version -o short");

  test("already joined to this cluster: no second join", async () => {
    const hash = makeCa();
    writeFileSync(path.join(root, "etc/kubernetes/kubelet.conf"), "x");
    mkdirSync(path.join(root, "var/lib/kubelet"), { recursive: true });
    writeFileSync(
      path.join(root, "var/lib/kubelet/kubeadm-flags.env"),
      'KUBELET_KUBEADM_ARGS="--node-ip=192.168.64.11"\n',
    );
    // Re-pointing (an address changed): test/shell/readdress.test.ts.
    sb.fake("kubectl", 'printf "https://192.168.64.10:6443"');
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

  test("hanging pull cut off: a hanging join is cut off by its timeout (V09)", async () => {
    kubeadm(`if [ "$1" = join ]; then ${HANG}; fi`);
    const r = await run("kubeadm-cluster/join.sh", {
      ...env,
      JOIN_ATTEMPTS: "1",
      JOIN_TIMEOUT_SECONDS: "0.05",
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not join: 1 attempts of up to 0\.05s each/);
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

  test("fails twice, then joins: three attempts by default, token file removed afterwards", async () => {
    kubeadm(
      `if [ "$1" = join ]; then n=$(cat "$FAKE_CALLS.n" 2>/dev/null || echo 0); echo $((n + 1)) >"$FAKE_CALLS.n"; [ "$n" -ge 2 ] || exit 1; echo joined >"${root}/etc/kubernetes/kubelet.conf"; fi`,
    );
    const r = await run("kubeadm-cluster/join.sh", env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(path.join(root, "etc/kubernetes/kubelet.conf"), "utf8"), "joined\n");
    assert.match(r.stderr, /attempt 2 of 3/);
    assert.ok(!existsSync(path.join(root, "etc/tartlab/kubeadm-join.yaml")), "the token file is removed");
  });
});

describe("secrets on the node are root-only (mode 600) from the moment they exist", () => {
  const mode = (rel: string) => (statSync(path.join(root, rel)).mode & 0o777).toString(8);
  /** A kubeadm fake line that records the mode of the file on its stdout (the log it writes to) as it runs. */
  const recordLogMode = 'stat -L -c %a /proc/$$/fd/1 >>"$FAKE_CALLS.logmode"';
  const me = userInfo();
  const initEnv = {
    NODE_NAME: "dev-master",
    KUBEADM_CONFIG: "kind: InitConfiguration\n",
    LOGIN_USER: me.username,
    KUBERNETES_VERSION: "v1.35.2",
  };

  test("init: kubeadm's log (it holds the join token) is 600 while kubeadm writes it, and stays so when init fails", async () => {
    fakeKubeadm(
      sb,
      `${recordLogMode}
echo "kubeadm join 192.168.64.10:6443 --token abcdef.0123456789abcdef"
echo "[wait-control-plane] timed out"; exit 1`,
    );
    const r = await run("kubeadm-cluster/init.sh", initEnv);
    assert.equal(r.code, 1);
    assert.equal(readFileSync(`${sb.dir}/calls.log.logmode`, "utf8"), "600\n", "while kubeadm init ran");
    assert.equal(mode("var/log/tartlab-kubeadm-init.log"), "600", "after the failure");
    assert.match(readFileSync(path.join(root, "var/log/tartlab-kubeadm-init.log"), "utf8"), /--token/);
  });

  test("init: the login user's copy of admin.conf is 600 in a 700 ~/.kube; the log of a good init is 600", async () => {
    fakeKubeadm(
      sb,
      `echo "kubeadm join 192.168.64.10:6443 --token abcdef.0123456789abcdef"
echo admin >"$TARTLAB_ROOT/etc/kubernetes/admin.conf"`,
    );
    const r = await run("kubeadm-cluster/init.sh", initEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(path.join(me.homedir, ".kube")), "700");
    assert.equal(mode(path.join(me.homedir, ".kube/config")), "600");
    assert.equal(mode("var/log/tartlab-kubeadm-init.log"), "600");
  });

  test("join: the join config (it holds the bootstrap token) and kubeadm's log are 600 while kubeadm join reads and writes them, and after a failed join", async () => {
    fakeKubeadm(
      sb,
      `if [ "$1" = join ]; then
  stat -c %a "$TARTLAB_ROOT/etc/tartlab/kubeadm-join.yaml" >>"$FAKE_CALLS.configmode"
  ${recordLogMode}
  echo "couldn't validate the identity of the API Server"; exit 1
fi`,
    );
    const r = await run("kubeadm-cluster/join.sh", {
      NODE_NAME: "dev-worker1",
      JOIN_CONFIG:
        "kind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n",
      CA_CERT_HASH: `sha256:${"0".repeat(64)}`,
      KUBERNETES_VERSION: "v1.35.2",
      NODE_IP: "192.168.64.11",
      API_SERVER_ENDPOINT: "192.168.64.10:6443",
      JOIN_ATTEMPTS: "1",
    });
    assert.equal(r.code, 1);
    assert.equal(readFileSync(`${sb.dir}/calls.log.configmode`, "utf8"), "600\n");
    assert.equal(readFileSync(`${sb.dir}/calls.log.logmode`, "utf8"), "600\n");
    assert.equal(mode("etc/tartlab/kubeadm-join.yaml"), "600");
    assert.equal(mode("var/log/tartlab-kubeadm-join.log"), "600");
  });
});

describe("cluster membership (on the control plane)", () => {
  const waitEnv = {
    WORKER_NAME: "dev-worker1",
    WAIT_SECONDS: "0",
    POLL_SECONDS: "0",
    KUBECTL_TIMEOUT_SECONDS: "0.05",
  };
  /** A kubectl whose `get node X` succeeds from its Nth call on (the node registers late). */
  const registersOnCall = (n: number) =>
    `c=$(cat "$FAKE_CALLS.n" 2>/dev/null || echo 0); echo $((c + 1)) >"$FAKE_CALLS.n"; [ "$c" -ge ${n - 1} ] || { echo 'Error from server (NotFound): nodes "dev-worker1" not found' >&2; exit 1; }; echo dev-worker1`;

  test("member-wait: a node that registers on the third poll passes", async () => {
    sb.fake("kubectl", registersOnCall(3));
    const r = await run("kubeadm-cluster/member-wait.sh", {
      ...waitEnv,
      WAIT_SECONDS: "60",
      KUBECTL_TIMEOUT_SECONDS: "30",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(`${sb.dir}/calls.log.n`, "utf8"), "3\n");
    assert.match(r.stderr, /node dev-worker1 is registered/);
  });

  test("member-wait: a node that never registers fails after the deadline, naming it", async () => {
    sb.fake("kubectl", registersOnCall(1_000_000));
    const r = await run("kubeadm-cluster/member-wait.sh", waitEnv);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node dev-worker1 did not register with the API server within 0s/);
  });

  test("member-wait: a hanging kubectl is cut off; the deadline holds", async () => {
    sb.fake("kubectl", HANG);
    const r = await run("kubeadm-cluster/member-wait.sh", waitEnv);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /did not register with the API server within 0s/);
  });

  /** A kubectl over a node list in a file: get/drain/delete act on it. */
  const nodeListKubectl = (drainFails = false) => `nodes="$FAKE_CALLS.nodes"
case "$1" in
  get) grep -qx "$3" "$nodes" || { echo "Error from server (NotFound): nodes '$3' not found" >&2; exit 1; }; echo "$3" ;;
  drain) ${drainFails ? 'echo "error: timed out waiting for the condition" >&2; exit 1' : 'echo "$2" >>"$FAKE_CALLS.drained"'} ;;
  delete) grep -vx "$3" "$nodes" >"$nodes.new" || true; mv "$nodes.new" "$nodes" ;;
esac`;

  for (const drainFails of [false, true]) {
    test(`member-remove: ${drainFails ? "a drain that times out still" : "drains, then"} removes the node object`, async () => {
      writeFileSync(`${sb.dir}/calls.log.nodes`, "dev-master\ndev-worker1\ndev-worker2\n");
      sb.fake("kubectl", nodeListKubectl(drainFails));
      const r = await run(
        "kubeadm-cluster/member-wait.sh",
        { WORKER_NAME: "dev-worker1" },
        {},
        "kubeadm-cluster/member-remove.sh",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(`${sb.dir}/calls.log.nodes`, "utf8"), "dev-master\ndev-worker2\n");
      if (drainFails) assert.match(r.stderr, /WARNING: drain of dev-worker1 did not finish in 180s/);
      else assert.equal(readFileSync(`${sb.dir}/calls.log.drained`, "utf8"), "dev-worker1\n");
    });
  }

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
