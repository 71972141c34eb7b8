/**
 * Harness B: runs a real script under scripts/ with bash, exactly as Pulumi would send it (the stdin bundle of
 * lib/shell.ts), on a PATH whose first directory holds fake binaries that record every call.
 *
 * Line coverage (tools/shell-coverage.ts): when TARTLAB_SHELL_TRACE_DIR is set (tools/run-tests.ts sets it for
 * `npm test`), each run also writes an xtrace of the script into that directory, one file per run named after
 * the script. The bundle is unchanged: tracing is switched on by a BASH_ENV file, which every non-interactive
 * bash reads; it acts only in the bash whose $0 is the bundle's `tartlab-<action>` (the one running the script
 * text, so LINENO is the script file's own line number) and unsets itself so nested `bash -c` calls do not trace.
 * Each trace line also names the function it runs in: lines inside scripts/helpers.sh's functions (defined on the
 * script's first line, so LINENO is the helper file's own line number there) count for that file.
 * A script run directly (`bash <path>`, not from a bundle) is traced the same way with `traceEnv(script)`: there the
 * bash to trace is the one whose $0 is the script's path.
 * PS4 is set inside because bash ignores an inherited PS4 when it runs as root (facts/upstream-review.md).
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach } from "node:test";
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
  PS4='+\${LINENO}:\${FUNCNAME:-}: '
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

/** One entry of a saved sandbox (`Sandbox.save`), by its path relative to the sandbox. */
interface Entry {
  readonly kind: "dir" | "file" | "link";
  readonly mode: number;
  /** A file's bytes, a link's target. */
  readonly data: Buffer;
  readonly mtimeMs: number;
}
/** A sandbox's files, kept in memory: what `Sandbox.restore` brings back. */
export type SandboxState = ReadonlyMap<string, Entry>;

function readTree(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(full);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) {
        out.set(r, { kind: "link", mode, data: Buffer.from(readlinkSync(full)), mtimeMs: 0 });
      } else if (st.isFile())
        out.set(r, { kind: "file", mode, data: readFileSync(full), mtimeMs: st.mtimeMs });
      else if (st.isDirectory()) {
        out.set(r, { kind: "dir", mode, data: Buffer.alloc(0), mtimeMs: 0 });
        walk(full, r);
      } else throw new Error(`${full}: a sandbox holds files, directories and links only`);
    }
  };
  walk(root, "");
  return out;
}

/** Rewrites what differs from `want`, in place: files keep their inodes (a VM's `tart run` keeps its log open). */
function writeTree(root: string, want: SandboxState): void {
  const have = readTree(root);
  const same = (p: string) => have.get(p)?.kind === want.get(p)?.kind;
  // Deepest first, so a directory is empty when its turn comes.
  for (const p of [...have.keys()].filter((k) => !same(k)).sort((a, b) => b.length - a.length)) {
    rmSync(path.join(root, p), { recursive: true, force: true });
    have.delete(p);
  }
  // Parents first: "a" sorts before "a/…".
  for (const p of [...want.keys()].sort()) {
    const w = want.get(p)!;
    const h = have.get(p);
    const full = path.join(root, p);
    if (w.kind === "link") {
      if (h === undefined || !h.data.equals(w.data)) {
        rmSync(full, { force: true });
        symlinkSync(w.data.toString(), full);
      }
      continue;
    }
    const changed = h === undefined || !h.data.equals(w.data);
    if (w.kind === "dir" && h === undefined) mkdirSync(full);
    if (w.kind === "file" && changed) writeFileSync(full, w.data);
    if (h === undefined || h.mode !== w.mode) chmodSync(full, w.mode);
    if (w.kind === "file" && (changed || Math.abs(h.mtimeMs - w.mtimeMs) >= 1)) {
      utimesSync(full, w.mtimeMs / 1000, w.mtimeMs / 1000);
    }
  }
}

/** The `tart run` process of each fake VM that runs, by VM name: its pid file names a live `tart run` of it. */
function liveVms(tartHome: string): Map<string, number> {
  const live = new Map<string, number>();
  for (const vm of existsSync(tartHome) ? readdirSync(tartHome) : []) {
    try {
      if (readFileSync(path.join(tartHome, vm, "state"), "utf8").trim() !== "running") continue;
      const pid = Number(readFileSync(path.join(tartHome, vm, "pid"), "utf8").trim());
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (args.includes("run") && args.at(-2) === vm) live.set(vm, pid);
    } catch {
      // no pid file, or its process is gone
    }
  }
  return live;
}

function killVm(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone already, or not a group leader
    }
  }
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
  /** The sandbox's files, in memory. */
  save(): SandboxState;
  /**
   * The sandbox as saved, rewritten in place where it differs. A fake VM that ran then runs: its `tart run` goes on
   * if it still runs, else one starts with the recorded run options; every other VM's `tart run` is stopped.
   */
  restore(state: SandboxState): Promise<void>;
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

/**
 * A maker of sandboxes, each disposed after the test that made it: for tests that need several, or one made
 * mid-test. Call it at a test file's top level, where it registers that file's afterEach hook.
 */
export function sandboxesPerTest(): () => Sandbox {
  const made: Sandbox[] = [];
  afterEach(() => {
    for (const sb of made.splice(0)) sb.dispose();
  });
  return () => {
    const sb = sandbox();
    made.push(sb);
    return sb;
  };
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
    save: () => readTree(dir),
    async restore(state) {
      const tartHome = path.join(dir, "tart");
      const runsThere = (vm: string) => state.get(`tart/${vm}/state`)?.data.toString() === "running\n";
      const live = liveVms(tartHome);
      for (const [vm, pid] of live) {
        if (runsThere(vm)) continue;
        killVm(pid);
        live.delete(vm);
      }
      writeTree(dir, state);
      const started: string[] = [];
      for (const vm of existsSync(tartHome) ? readdirSync(tartHome) : []) {
        if (!runsThere(vm)) continue;
        const pid = live.get(vm);
        if (pid !== undefined) {
          writeFileSync(path.join(tartHome, vm, "pid"), `${pid}\n`);
          continue;
        }
        // A new `tart run`, as start.sh starts it (its own session, output to the VM's log); it writes its pid,
        // session, stdio and lease, then its state.
        const record = path.join(home, ".tartlab/vms", `${vm}.run`);
        const options = existsSync(record) ? readFileSync(record, "utf8").trim().split("\n") : [];
        const logFile = path.join(home, ".tartlab/logs", `${vm}.log`);
        const log = openSync(existsSync(path.dirname(logFile)) ? logFile : "/dev/null", "a");
        writeFileSync(path.join(tartHome, vm, "state"), "stopped\n");
        rmSync(path.join(tartHome, vm, "pid"), { force: true });
        const child = spawn("bash", [path.join(bin, "tart"), "run", ...options, vm], {
          detached: true,
          stdio: ["ignore", log, log],
          env: {
            PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
            HOME: home,
            FAKE_CALLS: callsFile,
            FAKE_TART_HOME: tartHome,
          },
        });
        child.unref();
        closeSync(log);
        const stateFile = path.join(tartHome, vm, "state");
        for (let i = 0; readFileSync(stateFile, "utf8").trim() !== "running"; i++) {
          if (i === 1000) throw new Error(`restore: fake VM ${vm} did not run again`);
          await new Promise((r) => setTimeout(r, 10));
        }
        started.push(vm);
      }
      if (started.length === 0) return;
      // What the new processes wrote is put back, but for whom they are (pid, session).
      const now = readTree(dir);
      const want = new Map(state);
      for (const vm of started) {
        for (const f of ["pid", "sid"]) {
          const p = `tart/${vm}/${f}`;
          const e = now.get(p);
          if (e) want.set(p, e);
          else want.delete(p);
        }
      }
      writeTree(dir, want);
    },
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
