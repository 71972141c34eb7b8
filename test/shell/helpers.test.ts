/**
 * scripts/helpers.sh, the functions lib/shell.ts puts in front of every script: each one run by a small script
 * through a real bundle, as a component's script runs it, against fakes.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { HELPERS_FILE, SCRIPTS_DIR, bundle, loadScript, withHelpers } from "../../lib/shell";
import { Sandbox, SandboxState, sandbox } from "../harness/shell";

const HELPERS = readFileSync(path.join(SCRIPTS_DIR, HELPERS_FILE), "utf8");

let sb: Sandbox;
let fresh: SandboxState;
before(() => {
  sb = sandbox();
  fresh = sb.save();
});
beforeEach(() => sb.restore(fresh));
after(() => sb.dispose());

/** Runs `body` (bash, after `set -euo pipefail`) with the helpers in front, as a bundle's create script. */
const run = (body: string, env: Record<string, string> = {}, processEnv?: Record<string, string>) =>
  sb.run({
    script: HELPERS_FILE,
    stdin: bundle({ create: withHelpers(`#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, HELPERS) }, env),
    env,
    processEnv,
  });

/** Real `tart list --format json` output (Tart 2.x field names) for these VMs. */
const tartList = (vms: { Name: string; State: string; Disk: number }[]) =>
  JSON.stringify(
    vms.map((v) => ({ Source: "local", Size: 6, Accessed: "2026-11-22T01:00:00Z", ...v })),
    null,
    2,
  );

describe("scripts/helpers.sh", () => {
  test("withHelpers keeps the script's own line numbers and survives quotes, backslashes and newlines", async () => {
    const r = await run(`echo "line $LINENO"\nprintf '%s\\n' 'it'"'"'s \\\\ here'`);
    assert.equal(r.code, 0, r.stderr);
    // body line 1 is the script's line 3 (after the shebang and set -euo pipefail)
    assert.equal(r.stdout, "line 3\nit's \\\\ here\n");
    const text = withHelpers("echo hi\n", "f() { echo 'a\\b'; }\n# it's\n");
    assert.equal(text.split("\n").length, 2, "the helpers add no line");
  });

  test("every loaded script carries the helpers and keeps its first line", () => {
    const file = readFileSync(path.join(SCRIPTS_DIR, "tart-vm/stop.sh"), "utf8");
    const loaded = loadScript("tart-vm/stop.sh");
    assert.ok(loaded.endsWith(`; ${file}`));
    assert.equal(loaded.split("\n").length, file.split("\n").length);
  });

  test("_homebrew_path appends the Homebrew directories after the caller's PATH", async () => {
    const r = await run('before=$PATH\n_homebrew_path\nprintf "%s\\n" "${PATH#"$before"}"');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ":/opt/homebrew/bin:/usr/local/bin\n");
  });

  test("_retry: runs the command again after a pause growing with each failure, until it succeeds", async () => {
    // The fake fails until its third call; sleep records each pause.
    sb.fake(
      "flaky",
      'n=$(($(cat "$FAKE_CALLS.n" 2>/dev/null || echo 0) + 1)); echo $n >"$FAKE_CALLS.n"; [ $n -ge 3 ]',
    );
    sb.fake("sleep", "exit 0");
    const r = await run("_retry flaky a b\necho done", {
      NODE_NAME: "dev-master",
      RETRY_PAUSE_SECONDS: "0.5",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "done\n");
    assert.deepEqual(r.calls, ["flaky a b", "sleep 0.5", "flaky a b", "sleep 0.5", "sleep 0.5", "flaky a b"]);
  });

  test("_retry: gives up after RETRY_ATTEMPTS (5 by default), saying for whom and what", async () => {
    sb.fake("never", "exit 1");
    sb.fake("sleep", "exit 0");
    const byDefault = await run("_retry never x || echo failed", { NODE_NAME: "dev-worker1" });
    assert.equal(byDefault.stdout, "failed\n");
    assert.equal(byDefault.calls.filter((c) => c === "never x").length, 5);
    assert.match(byDefault.stderr, /^tartlab: dev-worker1: gave up after 5 attempts: never x$/m);

    const labelled = await run('RETRY_ATTEMPTS=2 RETRY_LABEL="golden image" _retry never y', {});
    assert.equal(labelled.code, 1);
    assert.equal(labelled.calls.filter((c) => c === "never y").length, 2);
    assert.match(labelled.stderr, /^tartlab: golden image: gave up after 2 attempts: never y$/m);
  });

  test("_json_find: a field of the first matching element, or absent", async () => {
    const doc = tartList([
      { Name: "dev-master", State: "running", Disk: 30 },
      { Name: "dev-worker1", State: "stopped", Disk: 40 },
    ]);
    const r = await run(
      [
        'doc=$(cat <<"EOF"',
        doc,
        "EOF",
        ")",
        'printf "%s|" "$(_json_find Name dev-worker1 State <<<"$doc")" "$(_json_find Name dev-worker1 Disk <<<"$doc")"',
        'printf "%s|" "$(_json_find Name dev-worker2 State <<<"$doc")" "$(_json_find Name dev State <<<"[]")"',
      ].join("\n"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "stopped|40|absent|absent|");
  });

  test("_json_ints: integer fields in order; a missing or non-integer one fails naming it", async () => {
    const ok = await run(
      `_json_ints "tart get" CPU Memory Disk <<<'{"CPU": 4, "Memory": 8192, "Disk": 50, "OS": "linux"}'`,
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "4 8192 50");
    const bad = await run(
      `_json_ints "tart get" CPU Memory Disk <<<'{"CPU": 4, "Memory": "8G", "Disk": 50}'`,
    );
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, "tart get printed no integer Memory\n");
  });

  test("_with_timeout: stdin, output and exit status pass through", async () => {
    sb.fake("echoer", 'echo "got $(cat) $*"; exit 3');
    const r = await run('echo hello | _with_timeout 30 "the echoer" echoer a || echo "status $?"');
    assert.equal(r.stdout, "got hello a\nstatus 3\n");
    assert.equal(r.stderr, "");
  });

  test("_with_timeout: a command that hangs is cut off at the deadline: status 124, saying what it waited for", async () => {
    // The fake hangs until the deadline ends it; should that fail, the test ends it (its pid is in hang.pid).
    const pidFile = path.join(sb.dir, "hang.pid");
    sb.fake("hang", `echo $$ >"${pidFile}"; exec sleep 1000`);
    try {
      const r = await run('_with_timeout 0.2 "tart clone base dev-master" hang || echo "status $?"');
      assert.equal(r.stdout, "status 124\n");
      assert.equal(r.stderr, "tartlab: gave up after 0.2s waiting for tart clone base dev-master\n");
    } finally {
      try {
        process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
      } catch {
        // gone: cut off by the deadline
      }
    }
  });

  test("_spawn_detached: the command runs on in a session of its own, its output in the log; prints its pid", async () => {
    const log = path.join(sb.dir, "bg.log");
    sb.fake("bg", 'echo "out $* $$ $(cut -d" " -f6 /proc/$$/stat)"; echo err >&2');
    const r = await run(`pid=$(_spawn_detached "${log}" bg a b)\necho "$pid $(cut -d" " -f6 /proc/$$/stat)"`);
    assert.equal(r.code, 0, r.stderr);
    const [pid, ownSession] = r.stdout.trim().split(" ");
    for (let i = 0; i < 500 && !/err/.test(existsSync(log) ? readFileSync(log, "utf8") : ""); i++) {
      await new Promise((done) => setTimeout(done, 20));
    }
    // A session leader's session id is its pid.
    assert.equal(readFileSync(log, "utf8"), `out a b ${pid} ${pid}\nerr\n`);
    assert.notEqual(ownSession, pid);
  });

  test("_vm_field and _vm_state read tart's JSON list of local VMs, never its table", async () => {
    const list = tartList([
      { Name: "dev-master", State: "running", Disk: 30 },
      { Name: "dev-master2", State: "suspended", Disk: 50 },
    ]);
    sb.fake("tart", `cat <<'EOF'\n${list}\nEOF`);
    const r = await run(
      'printf "%s|" "$(_vm_state dev-master)" "$(_vm_field dev-master2 Disk)" "$(_vm_state dev-worker1)"',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "running|50|absent|");
    assert.deepEqual(new Set(r.calls), new Set(["tart list --source local --format json"]));
  });

  test("_apt: apt-get waits for the dpkg lock and reads no stdin", async () => {
    sb.fake("apt-get", 'echo "apt-get $* [$(cat)]"');
    const r = await run("echo typed | _apt install -y kubelet");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^apt-get -o DPkg::Lock::Timeout=300 .*install -y kubelet \[\]\n$/);
  });

  test("_k8s_minor: the minor of an exact version or of a bare minor, with or without the v", async () => {
    const r = await run('echo "$(_k8s_minor v1.36.1) $(_k8s_minor 1.35) $(_k8s_minor 1.9.0)"');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "36 35 9\n");
  });

  test("_installed and _installed_upstream: the installed version of a package; empty when it is not (only) installed", async () => {
    sb.fake(
      "dpkg-query",
      [
        'case "${*: -1}" in',
        '  kubelet) echo "installed 1.36.1-1.1" ;;',
        '  kubectl) echo "config-files 1.35.0-1.1" ;;',
        '  *) echo "dpkg-query: no packages found matching ${*: -1}" >&2; exit 1 ;;',
        "esac",
      ].join("\n"),
    );
    const r = await run(
      [
        'printf "%s|" "$(_installed kubelet)" "$(_installed kubectl)" "$(_installed kubeadm)"',
        'printf "%s|" "$(_installed_upstream kubelet)" "$(_installed_upstream kubectl)" "$(_installed_upstream kubeadm)"',
      ].join("\n"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "1.36.1-1.1|||1.36.1|||");
  });

  test("_k8s_repo: apt uses the minor's pkgs.k8s.io repository with its keyring, its output on stderr; an interrupted dpkg is finished first", async () => {
    const root = path.join(sb.dir, "root");
    mkdirSync(path.join(root, "etc/apt/sources.list.d"), { recursive: true });
    mkdirSync(path.join(root, "var/lib/dpkg/updates"), { recursive: true });
    writeFileSync(path.join(root, "var/lib/dpkg/updates/0001"), "");
    sb.fake("dpkg", 'if [ "$1" = --print-architecture ]; then echo arm64; fi');
    sb.fake("curl", 'echo "KEY of ${*: -1}"');
    sb.fake("gpg", 'cat >"${*: -1}"');
    sb.fake("apt-get", 'echo "index read"');
    const r = await run("_k8s_repo 1.36", { TARTLAB_ROOT: root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^index read$/m);
    const url = "https://pkgs.k8s.io/core:/stable:/v1.36/deb/";
    const keyring = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
    assert.equal(
      readFileSync(path.join(root, "etc/apt/sources.list.d/kubernetes.list"), "utf8"),
      `deb [arch=arm64 signed-by=${keyring}] ${url} /\n`,
    );
    assert.equal(readFileSync(path.join(root, keyring), "utf8"), `KEY of ${url}Release.key\n`);
    const at = (re: RegExp) => r.calls.findIndex((c) => re.test(c));
    assert.ok(at(/^dpkg .*--configure -a$/) === 0, r.calls.join("\n"));
    assert.ok(at(/^curl /) < at(/^gpg --dearmor/), r.calls.join("\n"));
    assert.equal(
      r.calls.at(-1),
      "apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Acquire::http::Timeout=60 update",
    );
  });

  test("_kubelet_install: the new pause in containerd, then kubelet and kubectl at exactly the version, held, kubelet restarted", async () => {
    const root = path.join(sb.dir, "root");
    const conf = path.join(root, "etc/containerd/config.toml");
    mkdirSync(path.dirname(conf), { recursive: true });
    writeFileSync(
      conf,
      '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n',
    );
    sb.fake(
      "kubeadm",
      'case "$1" in version) echo v1.36.1 ;; config) echo registry.k8s.io/kube-proxy:v1.36.1; echo registry.k8s.io/pause:3.10 ;; esac',
    );
    for (const tool of ["apt-mark", "systemctl"]) sb.fake(tool, "exit 0");
    sb.fake("apt-get", 'echo "installed $*"');
    const r = await run("_kubelet_install 1.36.1", { NODE_NAME: "dev-worker1", TARTLAB_ROOT: root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^installed .* install -y --no-install-recommends kubelet=1\.36\.1-\* kubectl=1\.36\.1-\*$/m,
    );
    assert.match(readFileSync(conf, "utf8"), /sandbox_image = "registry\.k8s\.io\/pause:3\.10"/);
    const tail = r.calls.filter((c) => !c.startsWith("kubeadm "));
    assert.deepEqual(tail, [
      "systemctl restart containerd",
      "apt-mark unhold kubelet kubectl",
      "apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3 -o Acquire::http::Timeout=60 install -y " +
        "--no-install-recommends kubelet=1.36.1-* kubectl=1.36.1-*",
      "apt-mark hold kubelet kubectl",
      "systemctl daemon-reload",
      "systemctl restart kubelet",
    ]);
  });

  test("_await_kubelet: polls until the node's kubelet reports the version, the API's failures counting as not yet", async () => {
    // The API fails once, then reports the old version, then the new one.
    sb.fake(
      "kubectl",
      [
        'n=$(($(cat "$FAKE_CALLS.k" 2>/dev/null || echo 0) + 1)); echo $n >"$FAKE_CALLS.k"',
        "case $n in 1) exit 1 ;; 2) echo -n v1.35.2 ;; *) echo -n v1.36.1 ;; esac",
      ].join("\n"),
    );
    sb.fake("sleep", "exit 0");
    const r = await run("_await_kubelet dev-worker1 v1.36.1\necho reported", { POLL_SECONDS: "0.5" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "reported\n");
    const get = "kubectl get node dev-worker1 -o jsonpath={.status.nodeInfo.kubeletVersion}";
    assert.deepEqual(r.calls, [get, "sleep 0.5", get, "sleep 0.5", get]);
  });

  test("_await_kubelet: past KUBELET_WAIT_SECONDS it fails, saying the node stays cordoned", async () => {
    sb.fake("kubectl", "echo -n v1.35.2");
    sb.fake("sleep", "exit 0");
    const r = await run("_await_kubelet dev-worker1 v1.36.1 || echo failed", { KUBELET_WAIT_SECONDS: "0" });
    assert.equal(r.stdout, "failed\n");
    assert.equal(
      r.stderr,
      "tartlab: dev-worker1's kubelet did not report v1.36.1 within 0s; it stays cordoned. Check it with: " +
        "journalctl -u kubelet on dev-worker1\n",
    );
    assert.deepEqual(r.calls, ["kubectl get node dev-worker1 -o jsonpath={.status.nodeInfo.kubeletVersion}"]);
  });

  test("_kubeconfig_cli: ops/kubeconfig.ts of the passed project, else of the working directory; the kubeconfig on stdin only", async () => {
    // node is faked: it says where it ran, with what, and whether the kubeconfig was in its environment.
    sb.fake("node", 'echo "node $* in $PWD; content ${KUBECONFIG_CONTENT-unset}; stdin $(cat)"');
    const project = path.join(sb.dir, "project");
    mkdirSync(path.join(project, "ops"), { recursive: true });
    writeFileSync(path.join(project, "ops/kubeconfig.ts"), "");
    const body =
      'export KUBECONFIG_CONTENT=secret\necho "$KUBECONFIG_CONTENT" | _kubeconfig_cli merge dev --set-current';
    const passed = await run(body, { TARTLAB_PROJECT_DIR: project });
    assert.equal(passed.code, 0, passed.stderr);
    assert.equal(
      passed.stdout,
      `node --import tsx ops/kubeconfig.ts merge dev --set-current in ${project}; content unset; stdin secret\n`,
    );

    mkdirSync(path.join(sb.dir, "ops"), { recursive: true });
    writeFileSync(path.join(sb.dir, "ops/kubeconfig.ts"), "");
    const moved = await run("_kubeconfig_cli remove dev </dev/null", {
      TARTLAB_PROJECT_DIR: path.join(sb.dir, "gone"),
    });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(
      moved.stdout,
      `node --import tsx ops/kubeconfig.ts remove dev in ${sb.dir}; content unset; stdin \n`,
    );
  });

  test("_kubeconfig_cli: no ops/kubeconfig.ts in either place fails saying where it looked", async () => {
    sb.fake("node", "exit 0");
    const r = await run("_kubeconfig_cli remove dev || echo failed", { TARTLAB_PROJECT_DIR: "/nowhere" });
    assert.equal(r.stdout, "failed\n");
    assert.equal(
      r.stderr,
      `tartlab: cannot find ops/kubeconfig.ts in /nowhere or ${sb.dir}; run pulumi in the tartlab project directory\n`,
    );
    assert.deepEqual(r.calls, []);
  });
});
