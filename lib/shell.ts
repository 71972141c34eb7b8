/**
 * The one way a script reaches a shell (T01): a verbatim file under scripts/ after an `export NAME='…'`
 * prologue from one quoting function, sent on stdin as `bash -s -- <action>`, because sshd refuses unknown
 * environment variables (AcceptEnv) and a failed Command's error shows its command string. Delete and update
 * get create's stdin (pulumi-command), so the bundle carries every action's script.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** The project is CommonJS (T07), so __dirname is defined and means lib/. */
export const SCRIPTS_DIR = path.join(__dirname, "..", "scripts");

const ENV_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;

/** POSIX single-quoting: the result, pasted into sh or bash, is exactly `value`. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("shell values cannot contain NUL bytes");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Names sorted so the text is deterministic. */
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

export const HELPERS_FILE = "helpers.sh";

/** On the script's first line (`eval $'…'` before the shebang), so errors and traces keep line numbers. */
export function withHelpers(text: string, helpers: string): string {
  const escaped = helpers.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n");
  return `eval $'${escaped}'; ${text}`;
}

const read = (relPath: string) => readFileSync(path.join(SCRIPTS_DIR, relPath), "utf8");

export function loadScript(relPath: string): string {
  let text = cache.get(relPath);
  if (text === undefined) {
    text = withHelpers(read(relPath), read(HELPERS_FILE));
    cache.set(relPath, text);
  }
  return text;
}

export type Action = "create" | "delete";

/** Written through `tart exec`, which reaches the VM by name, never by address. */
export const VM_NAME_MARKER = "/etc/tartlab/vm-name";
/** Exit status of a bundle that refused to run on a machine that is not its VM. */
export const WRONG_VM_EXIT = 65;

/**
 * T09: SSH has no host-key check (clones share the image's keys), so after a DHCP change an address may be
 * another VM's, and only the marker `tart exec` wrote by VM name proves which one this is; TARTLAB_ROOT is
 * empty on a real VM and the fake node's root in tests.
 */
function identityCheck(vm: string): string {
  if (vm === "") throw new Error("identity check: empty VM name (an absent marker would pass)");
  return [
    `__tartlab_vm=${shellQuote(vm)}`,
    `__tartlab_marker="\${TARTLAB_ROOT:-}${VM_NAME_MARKER}"`,
    `__tartlab_says="there is no $__tartlab_marker"`,
    `__tartlab_found=""`,
    `if [ -f "$__tartlab_marker" ]; then`,
    `  __tartlab_found=$(cat "$__tartlab_marker")`,
    String.raw`  __tartlab_says="$__tartlab_marker says \"$__tartlab_found\""`,
    `fi`,
    `if [ "$__tartlab_found" != "$__tartlab_vm" ]; then`,
    String.raw`  echo "tartlab: refused to run $1 here: this step is meant for VM \"$__tartlab_vm\", but $__tartlab_says;" >&2`,
    `  echo "its address now belongs to another machine; run pulumi up again, which follows the VM's address" >&2`,
    `  exit ${WRONG_VM_EXIT}`,
    `fi`,
    ``,
  ].join("\n");
}

/**
 * Each script sits in a quoted heredoc run with `bash -c`, so nothing expands and the script's stdin is
 * /dev/null; no `$(cat <<…)`, which macOS's bash 3.2 parses wrong.
 */
export function bundle(
  scripts: Partial<Record<Action, string>>,
  env: Readonly<Record<string, string>>,
  vm?: string,
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
  if (vm !== undefined) out += identityCheck(vm);
  out += 'exec bash -c "$__tartlab_script" "tartlab-$1" </dev/null\n';
  return out;
}

export interface ScriptSpec {
  /** Also run on update: scripts are idempotent. */
  readonly create: string;
  readonly delete?: string;
  /** Secret Outputs keep the stdin secret. */
  readonly env: Readonly<Record<string, pulumi.Input<string>>>;
  /** `-n` never prompts; the image's admin has passwordless sudo. */
  readonly sudo?: boolean;
  /** Remote only: the bundle runs nothing unless the machine's identity marker names this VM. */
  readonly vm?: string;
}

export interface ScriptCommandArgs {
  readonly create: string;
  readonly delete?: string;
  readonly stdin: pulumi.Output<string>;
  /** Else the provider sends the previous stdout as PULUMI_COMMAND_STDOUT, which sshd refuses (AcceptEnv). */
  readonly addPreviousOutputInEnv: false;
}

export function scriptCommand(spec: ScriptSpec): ScriptCommandArgs {
  const scripts: Partial<Record<Action, string>> = { create: loadScript(spec.create) };
  if (spec.delete) scripts.delete = loadScript(spec.delete);
  const run = (action: Action) => `${spec.sudo ? "sudo -n " : ""}bash -s -- ${action}`;
  return {
    create: run("create"),
    delete: spec.delete ? run("delete") : undefined,
    stdin: pulumi.all(spec.env).apply((env) => bundle(scripts, env, spec.vm)),
    addPreviousOutputInEnv: false,
  };
}
