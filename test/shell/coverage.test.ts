/**
 * The coverage machinery itself: traces map to the script file's own lines, failure exits are found,
 * and the trace fd never reaches a fake (a detached `tart run` must not inherit it).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { SCRIPTS_DIR } from "../../lib/shell";
import { HELPERS, analyze, readTraces } from "../../tools/shell-coverage";
import { Sandbox, sandbox, traceFileScript } from "../harness/shell";

let sb: Sandbox;
let traces: string;
let saved: string | undefined;
beforeEach(() => {
  sb = sandbox();
  traces = mkdtempSync(path.join(tmpdir(), "tartlab-trace-"));
  saved = process.env.TARTLAB_SHELL_TRACE_DIR;
  process.env.TARTLAB_SHELL_TRACE_DIR = traces;
});
afterEach(() => {
  if (saved === undefined) delete process.env.TARTLAB_SHELL_TRACE_DIR;
  else process.env.TARTLAB_SHELL_TRACE_DIR = saved;
  sb.dispose();
  rmSync(traces, { recursive: true, force: true });
});

describe("bash line coverage (test/harness/shell.ts + tools/shell-coverage.ts)", () => {
  test("a trace names its script and carries the script file's own line numbers", async () => {
    const root = path.join(sb.dir, "root");
    const r = await sb.run({
      script: "kubeadm-cluster/kubeconfig.sh",
      env: {},
      processEnv: { TARTLAB_ROOT: root },
    });
    assert.equal(r.code, 1);
    const files = readdirSync(traces);
    assert.equal(files.length, 1);
    assert.equal(traceFileScript(files[0]), "kubeadm-cluster/kubeconfig.sh");
    const lines = readFileSync(path.join(SCRIPTS_DIR, "kubeadm-cluster/kubeconfig.sh"), "utf8").split("\n");
    const exitLine = 1 + lines.findIndex((l) => l.trim() === "exit 1");
    const seen = readTraces(traces).get("kubeadm-cluster/kubeconfig.sh")!;
    assert.ok(seen.get(exitLine)?.has("exit"), `exit at line ${exitLine}: ${JSON.stringify([...seen])}`);
    const setLine = 1 + lines.indexOf("set -euo pipefail");
    assert.ok(seen.get(setLine)?.has("set"));
    // The failure exit the analyzer finds is the one the trace shows.
    assert.deepEqual(
      analyze(lines.join("\n")).failureExits.map((e) => e.first),
      [exitLine],
    );
  });

  test("the delete action's trace belongs to the delete script", async () => {
    const r = await sb.run({
      script: "kubeadm-cluster/host-kubeconfig.sh",
      deleteScript: "kubeadm-cluster/host-kubeconfig-remove.sh",
      action: "delete",
      // The remove script finds ops/kubeconfig.ts in the project dir (it edits $HOME/.kube/config: the sandbox's).
      env: {
        CLUSTER_NAME: "dev",
        KUBECONFIG_CONTENT: "x",
        TARTLAB_PROJECT_DIR: path.join(__dirname, "..", ".."),
      },
    });
    assert.equal(r.code, 0, r.stderr);
    // Its helper calls (_kubeconfig_cli) count for scripts/helpers.sh; nothing for the create script.
    assert.deepEqual(
      [...readTraces(traces).keys()].filter((s) => s !== HELPERS),
      ["kubeadm-cluster/host-kubeconfig-remove.sh"],
    );
  });

  test("fakes do not inherit the trace fd; the trace holds no fake's lines", async () => {
    sb.fake("kubectl", 'ls /proc/self/fd >"$FAKE_CALLS.fds"; exit 0');
    const r = await sb.run({ script: "kubeadm-cluster/member-wait.sh", env: { WORKER_NAME: "w" } });
    assert.equal(r.code, 0, r.stderr);
    const fds = readFileSync(`${sb.dir}/calls.log.fds`, "utf8").split("\n");
    assert.ok(!fds.includes("19"), `fd 19 open in a fake: ${fds}`);
    const text = readdirSync(traces)
      .map((f) => readFileSync(path.join(traces, f), "utf8"))
      .join("");
    assert.doesNotMatch(text, /FAKE_CALLS/);
  });

  test("analyze: exits, _fail calls and return N in a failure helper; not exit 0 or comments", () => {
    const text = [
      "#!/usr/bin/env bash",
      "set -euo pipefail",
      "_fail() {",
      '  echo "$1" >&2',
      "  return 1",
      "}",
      "# exit 3 in a comment",
      'x=$(echo "a',
      'b")',
      '[ -n "$x" ] || _fail "no x"',
      "if false; then",
      "  exit 0",
      "fi",
      "cat <<EOF",
      "exit 4",
      "EOF",
      "exit 2",
    ].join("\n");
    const shape = analyze(text);
    assert.deepEqual(
      shape.failureExits.map((e) => [e.first, e.word]),
      [
        [5, "return"],
        [10, "_fail"],
        [17, "exit"],
      ],
    );
    assert.deepEqual(
      shape.statements.map((s) => (s.first === s.last ? s.first : `${s.first}-${s.last}`)),
      [2, 4, 5, "8-9", 10, 11, 12, "14-16", 17],
    );
    writeFileSync(path.join(traces, "x"), ""); // not a trace file: ignored
    assert.equal(readTraces(traces).size, 0);
  });
});
