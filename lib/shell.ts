/**
 * The one way a script reaches a shell (lesson T01): scripts are real files under scripts/, loaded verbatim;
 * inputs become an `export NAME='…'` prologue made by ONE quoting function; the whole thing is sent on stdin
 * and run as `bash -s -- <action>`. Nothing is ever spliced into a quoted command string.
 *
 * Why stdin for both local and remote Commands: sshd refuses unknown `environment` variables (AcceptEnv,
 * facts/pulumi.md §1.4) and a failed Command's error text contains its full command string; with stdin the
 * command string is just `bash -s -- create`, so neither inputs nor secrets appear in error messages.
 * Delete and update receive the same stdin as create (facts §1.2), so the bundle carries the delete script
 * too and the command's argument picks which one runs.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** Where scripts live. The project is CommonJS (lesson T07), so __dirname is defined and means lib/. */
export const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");

const ENV_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;

/** POSIX single-quoting: the result, pasted into sh or bash, is exactly `value`. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("shell values cannot contain NUL bytes");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `export NAME='value'` lines, names sorted so the text is deterministic. */
export function exportPrologue(env: Readonly<Record<string, string>>): string {
  return Object.keys(env)
    .sort()
    .map((name) => {
      if (!ENV_NAME_RE.test(name))
        throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
      return `export ${name}=${shellQuote(env[name])}\n`;
    })
    .join("");
}

const cache = new Map<string, string>();

/** A script under scripts/, verbatim. */
export function loadScript(relPath: string): string {
  let text = cache.get(relPath);
  if (text === undefined) {
    text = readFileSync(path.join(SCRIPTS_DIR, relPath), "utf8");
    cache.set(relPath, text);
  }
  return text;
}

export type Action = "create" | "delete";

/**
 * The stdin text: prologue, then each action's script inside a quoted heredoc (no expansion of any kind),
 * run with `bash -c` so the script's own stdin is /dev/null and cannot swallow anything.
 * Compatible with macOS's bash 3.2 (no `$(cat <<…)`, whose parsing bash 3 gets wrong).
 */
export function bundle(
  scripts: Partial<Record<Action, string>>,
  env: Readonly<Record<string, string>>,
): string {
  let out = "# tartlab script bundle (lib/shell.ts); run as: bash -s -- <action>\nset -euo pipefail\n";
  out += exportPrologue(env);
  out += 'case "${1:-}" in\n';
  for (const action of ["create", "delete"] as const) {
    const text = scripts[action];
    if (text === undefined) continue;
    const delim = `TARTLAB_${action.toUpperCase()}_${createHash("sha256").update(text).digest("hex").slice(0, 16)}`;
    if (text.split("\n").includes(delim))
      throw new Error(`script contains its own heredoc delimiter ${delim}`);
    out += `${action})\nIFS= read -r -d '' __tartlab_script <<'${delim}' || true\n${text}${text.endsWith("\n") ? "" : "\n"}${delim}\n;;\n`;
  }
  out += '*) echo "tartlab: unknown action \\"${1:-}\\"" >&2; exit 64 ;;\nesac\n';
  out += 'exec bash -c "$__tartlab_script" "tartlab-$1" </dev/null\n';
  return out;
}

export interface ScriptSpec {
  /** Script run on create (and on update: a changed input re-runs it; scripts are idempotent). */
  readonly create: string;
  /** Script run on delete, with the stored inputs. */
  readonly delete?: string;
  /** Inputs, exported as environment variables. Secret Outputs keep the stdin secret. */
  readonly env: Readonly<Record<string, pulumi.Input<string>>>;
  /** Run as root through `sudo -n` (remote: the image's admin has passwordless sudo; -n never prompts). */
  readonly sudo?: boolean;
}

export interface ScriptCommandArgs {
  readonly create: string;
  readonly delete?: string;
  readonly stdin: pulumi.Output<string>;
  /**
   * Off: the provider would otherwise send the previous stdout (a kubeconfig, a join token) as the environment
   * variables PULUMI_COMMAND_STDOUT/STDERR, which sshd refuses with a warning (facts/pulumi.md §1.4); the
   * scripts never read them.
   */
  readonly addPreviousOutputInEnv: false;
}

/** Arguments for a local or remote Command that runs scripts/<spec.create> (and <spec.delete>). */
export function scriptCommand(spec: ScriptSpec): ScriptCommandArgs {
  const scripts: Partial<Record<Action, string>> = { create: loadScript(spec.create) };
  if (spec.delete) scripts.delete = loadScript(spec.delete);
  const run = (action: Action) => `${spec.sudo ? "sudo -n " : ""}bash -s -- ${action}`;
  return {
    create: run("create"),
    delete: spec.delete ? run("delete") : undefined,
    stdin: pulumi.all(spec.env).apply((env) => bundle(scripts, env)),
    addPreviousOutputInEnv: false,
  };
}
