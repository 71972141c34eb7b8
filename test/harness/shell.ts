/**
 * Harness B: runs a real script under scripts/ with bash, exactly as Pulumi would send it (the stdin bundle of
 * lib/shell.ts), on a PATH whose first directory holds fake binaries that record every call.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Action, bundle, loadScript } from "../../lib/shell";

export const FAKES_DIR = path.join(__dirname, "..", "fakes");

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
  calls(): string[];
  /** Stops every fake VM still "running" (their `tart run` loops exit) and removes the sandbox. */
  dispose(): void;
}

export interface RunOptions {
  readonly script: string;
  readonly deleteScript?: string;
  readonly action?: Action;
  readonly env: Record<string, string>;
  /** Extra environment for the bash process itself (fake knobs); not part of the bundle. */
  readonly processEnv?: Record<string, string>;
  readonly timeoutMs?: number;
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
      `#!/usr/bin/env bash\nprintf '%s\\n' "${name}\${*:+ $*}" >>"$FAKE_CALLS"\nexec bash ${JSON.stringify(target)} "$@"\n`,
    );
    chmodSync(file, 0o755);
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
      const tartHome = path.join(dir, "tart");
      try {
        for (const vm of readdirSync(tartHome)) writeFileSync(path.join(tartHome, vm, "state"), "stopped\n");
      } catch {
        // no fake VMs
      }
      setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500).unref();
    },
    calls: () =>
      readFileSync(callsFile, "utf8")
        .split("\n")
        .filter((l) => l !== ""),
    run(opts) {
      const scripts: Partial<Record<Action, string>> = { create: loadScript(opts.script) };
      if (opts.deleteScript) scripts.delete = loadScript(opts.deleteScript);
      const stdin = bundle(scripts, opts.env);
      const env: Record<string, string> = {
        PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: home,
        FAKE_CALLS: callsFile,
        FAKE_TART_HOME: path.join(dir, "tart"),
        LANG: "C",
        ...opts.processEnv,
      };
      return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-s", "--", opts.action ?? "create"], { env, cwd: dir });
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
