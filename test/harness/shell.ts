/**
 * Harness B: runs a real script under scripts/ with bash, exactly as Pulumi would send it (the stdin bundle of
 * lib/shell.ts), on a PATH whose first directory holds fake binaries that record every call.
 *
 * Line coverage (tools/shell-coverage.ts): when TARTLAB_SHELL_TRACE_DIR is set (tools/run-tests.ts sets it for
 * `npm test`), each run also writes an xtrace of the script into that directory, one file per run named after
 * the script. The bundle is unchanged: tracing is switched on by a BASH_ENV file, which every non-interactive
 * bash reads; it acts only in the bash whose $0 is the bundle's `tartlab-<action>` (the one running the script
 * text, so LINENO is the script file's own line number) and unsets itself so nested `bash -c` calls do not trace.
 * A script run directly (`bash <path>`, not from a bundle) is traced the same way with `traceEnv(script)`: there the
 * bash to trace is the one whose $0 is the script's path.
 * PS4 is set inside because bash ignores an inherited PS4 when it runs as root (facts/upstream-review.md).
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Action, SCRIPTS_DIR, bundle, loadScript } from "../../lib/shell";

export const FAKES_DIR = path.join(__dirname, "..", "fakes");

/**
 * What a wrapper runs its fake through: nothing unless a test sets FAKE_INTERRUPT (test/fakes/interrupt, which
 * can kill the script's process group at one call: an interrupted `pulumi up`/`destroy`).
 */
export const INTERRUPTIBLE = '${FAKE_INTERRUPT:+bash "$FAKE_INTERRUPT"}';

/**
 * Clock inputs of the Mac scripts (scripts/tart-vm) for tests: look again after 20 ms, and `tart ip` answers at
 * once (--wait 0). Pulumi passes neither, so the scripts keep their defaults (1 s, 2 s).
 */
export const QUICK_MAC: Readonly<Record<string, string>> = {
  POLL_SECONDS: "0.02",
  TART_IP_WAIT_SECONDS: "0",
};

/** The fd the trace is written to; fakes close it first thing, so no fake (e.g. a detached `tart run`) keeps it. */
const TRACE_FD = 19;
const TRACE_BASH_ENV = `if [ "\${0:-}" = "\${TARTLAB_TRACE_ARG0:-}" ] && [ -n "\${TARTLAB_TRACE_FILE:-}" ]; then
  exec ${TRACE_FD}>>"$TARTLAB_TRACE_FILE"
  BASH_XTRACEFD=${TRACE_FD}
  PS4='+\${LINENO}: '
  unset BASH_ENV TARTLAB_TRACE_FILE TARTLAB_TRACE_ARG0
  set -x
fi
`;
let traceRuns = 0;

/** Trace file name for a script: "kubeadm-cluster/join.sh" -> "kubeadm-cluster__join.sh.<pid>-<n>.trace". */
export const traceFileName = (script: string, n: number) =>
  `${script.replace(/\//g, "__")}.${process.pid}-${n}.trace`;
/** The inverse: which script a trace file belongs to. */
export const traceFileScript = (file: string) => file.replace(/\.\d+-\d+\.trace$/, "").replace(/__/g, "/");

export interface ShellRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** One entry per fake invocation: "<name> <args joined by spaces>". */
  readonly calls: string[];
}

export interface Sandbox {
  readonly dir: string;
  readonly bin: string;
  readonly home: string;
  /** Adds a fake binary: `body` is bash run after the call is recorded ($@ = the arguments). */
  fake(name: string, body: string): void;
  /** Installs a fake from test/fakes/ (e.g. "tart"). */
  useFake(name: string): void;
  run(opts: RunOptions): Promise<ShellRun>;
  /**
   * Environment that traces a script run directly (`bash scripts/<script>`, as lib/host.ts runs host/facts.sh)
   * into the coverage trace directory; empty when `npm test` is not collecting traces.
   */
  traceEnv(script: string): Record<string, string>;
  calls(): string[];
  /** Stops every fake VM still "running" (their `tart run` loops exit) and removes the sandbox. */
  dispose(): void;
}

export interface RunOptions {
  readonly script: string;
  readonly deleteScript?: string;
  readonly action?: Action;
  readonly env: Record<string, string>;
  /** The VM the bundle is meant for: it then runs only where the identity marker names it (lib/shell.ts). */
  readonly vm?: string;
  /**
   * A bundle exactly as a component recorded it (e.g. a remote Command's stdin under mocks), run as is instead of
   * one built from `script`/`env`; `script` then only names the trace.
   */
  readonly stdin?: string;
  /** Extra environment for the bash process itself (fake knobs); not part of the bundle. */
  readonly processEnv?: Record<string, string>;
  readonly timeoutMs?: number;
  /**
   * Runs the script in its own process group (as a provider's child is) and writes the group's id to this file
   * before the script reads its first line, so test/fakes/interrupt can kill exactly that group.
   */
  readonly groupFile?: string;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(path.join(tmpdir(), "tartlab-sh-"));
  const bin = path.join(dir, "bin");
  const home = path.join(dir, "home");
  const callsFile = path.join(dir, "calls.log");
  for (const d of [bin, home]) mkdirSync(d, { recursive: true });
  writeFileSync(callsFile, "");

  const wrap = (name: string, target: string) => {
    const file = path.join(bin, name);
    writeFileSync(
      file,
      `#!/usr/bin/env bash\nexec ${TRACE_FD}>&-\nprintf '%s\\n' "${name}\${*:+ $*}" >>"$FAKE_CALLS"\nexec ${INTERRUPTIBLE} bash ${JSON.stringify(target)} "$@"\n`,
    );
    chmodSync(file, 0o755);
  };

  /** BASH_ENV that traces only the bash whose $0 is `arg0`, into a new trace file for `script`. */
  const traceVars = (script: string, arg0: string): Record<string, string> => {
    const traceDir = process.env.TARTLAB_SHELL_TRACE_DIR;
    if (!traceDir) return {};
    const bashEnv = path.join(dir, "trace-bash-env.sh");
    writeFileSync(bashEnv, TRACE_BASH_ENV);
    return {
      BASH_ENV: bashEnv,
      TARTLAB_TRACE_ARG0: arg0,
      TARTLAB_TRACE_FILE: path.join(traceDir, traceFileName(script, ++traceRuns)),
    };
  };

  const sb: Sandbox = {
    dir,
    bin,
    home,
    fake(name, body) {
      const impl = path.join(dir, `impl-${name}.sh`);
      writeFileSync(impl, `set -euo pipefail\n${body}\n`);
      wrap(name, impl);
    },
    useFake(name) {
      const impl = path.join(dir, `impl-${name}.sh`);
      copyFileSync(path.join(FAKES_DIR, name), impl);
      wrap(name, impl);
    },
    dispose() {
      // Fake VMs still "running" are `tart run` loops in their own session: kill each session, then remove the
      // sandbox now (not on a timer: a timer that never fires left hundreds of directories behind).
      const tartHome = path.join(dir, "tart");
      const vms = existsSync(tartHome) ? readdirSync(tartHome) : [];
      for (const vm of vms) {
        const pidFile = path.join(tartHome, vm, "pid");
        if (!existsSync(pidFile)) continue;
        const pid = Number(readFileSync(pidFile, "utf8").trim());
        if (!Number.isInteger(pid) || pid <= 1) continue;
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, "SIGKILL");
          } catch {
            // gone already, or not a group leader
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
    traceEnv: (script) => traceVars(script, path.join(SCRIPTS_DIR, script)),
    calls: () =>
      readFileSync(callsFile, "utf8")
        .split("\n")
        .filter((l) => l !== ""),
    run(opts) {
      const scripts: Partial<Record<Action, string>> = { create: loadScript(opts.script) };
      if (opts.deleteScript) scripts.delete = loadScript(opts.deleteScript);
      const stdin = opts.stdin ?? bundle(scripts, opts.env, opts.vm);
      const action = opts.action ?? "create";
      const ran = action === "delete" ? opts.deleteScript : opts.script;
      const trace = ran ? traceVars(ran, `tartlab-${action}`) : {};
      const env: Record<string, string> = {
        PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: home,
        FAKE_CALLS: callsFile,
        FAKE_TART_HOME: path.join(dir, "tart"),
        LANG: "C",
        ...trace,
        ...opts.processEnv,
      };
      return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-s", "--", action], { env, cwd: dir, detached: !!opts.groupFile });
        if (opts.groupFile) writeFileSync(opts.groupFile, `${child.pid}\n`);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`script ${opts.script} timed out; stderr:\n${stderr}`));
        }, opts.timeoutMs ?? 30_000);
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr, calls: sb.calls() });
        });
        child.stdin.end(stdin);
      });
    },
  };
  return sb;
}
