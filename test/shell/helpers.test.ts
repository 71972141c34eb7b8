/**
 * scripts/helpers.sh, the functions lib/shell.ts puts in front of every script: each one run by a small script
 * through a real bundle, as a component's script runs it, against fakes.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
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
});
