/**
 * Bash line coverage of scripts/ from the shell harness's xtraces: a failure exit (`exit N`, a `_fail`/`_die`
 * call, or `return N` inside such a helper) or a script that no test executed fails the run, because that is
 * the path a user hits when something goes wrong.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");
const SCRIPTS = path.join(ROOT, "scripts");

export interface Statement {
  /** Continuations, quotes, $(…) and heredocs joined. */
  readonly first: number;
  readonly last: number;
}

export interface FailureExit extends Statement {
  readonly text: string;
  readonly word: string;
}

export interface ScriptShape {
  readonly statements: Statement[];
  readonly failureExits: FailureExit[];
}

const FAIL_HELPER = /^_(fail|die|abort)\w*$/;
/** Lines that xtrace never prints: keywords, function headers, case patterns, closing redirections. */
const NOT_RUNNABLE =
  /^(then|do|else|in|;;|\{|\(|\)|(done|fi|esac)\b.*|\}.*|[\w-]+\s*\(\)\s*\{?|function\s+[\w-]+.*\{|[^\s()]+\))$/;

/** A small scanner, not a parser. */
function scan(
  line: string,
  state: { quote: "" | "'" | '"'; depth: number },
): { code: string; heredoc?: string } {
  let code = "";
  let heredoc: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (state.quote === "'") {
      if (c === "'") state.quote = "";
    } else if (state.quote === '"') {
      if (c === "\\") {
        code += c + (line[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === '"') state.quote = "";
    } else {
      if (c === "#" && (i === 0 || /[\s;]/.test(line[i - 1]))) break;
      if (c === "\\") {
        code += c + (line[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === "'" || c === '"') state.quote = c;
      else if (c === "(") state.depth++;
      else if (c === ")") state.depth = Math.max(0, state.depth - 1);
      else if (c === "<" && line[i + 1] === "<" && line[i + 2] !== "<") {
        const m = /^<<-?\s*(['"]?)([A-Za-z_][\w]*)\1/.exec(line.slice(i));
        if (m) heredoc = m[2];
      }
    }
    code += c;
  }
  return { code, heredoc };
}

export function analyze(text: string): ScriptShape {
  const lines = text.split("\n");
  const statements: Statement[] = [];
  const failureExits: FailureExit[] = [];
  const state = { quote: "" as "" | "'" | '"', depth: 0 };
  let fn: string | undefined;
  let start = -1;
  let codeOf: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const { code, heredoc } = scan(lines[i], state);
    if (heredoc) {
      let j = i + 1;
      while (j < lines.length && lines[j].replace(/^\t+/, "") !== heredoc) j++;
      if (start < 0) start = i;
      codeOf.push(code);
      i = j;
    } else {
      const trimmed = code.trim();
      if (start < 0 && trimmed === "" && state.quote === "") continue;
      if (start < 0) start = i;
      codeOf.push(code);
    }
    const end = codeOf[codeOf.length - 1].trimEnd();
    const continued = state.quote !== "" || state.depth > 0 || /(\\|\||&&)$/.test(end);
    if (continued && i < lines.length - 1) continue;

    const first = start + 1;
    const last = i + 1;
    const whole = codeOf.join("\n").trim();
    start = -1;
    codeOf = [];
    const header = /^(?:function\s+)?([\w-]+)\s*\(\)\s*\{?/.exec(whole);
    if (header) fn = header[1];
    if (/^\}/.test(whole)) fn = undefined;
    if (whole === "" || NOT_RUNNABLE.test(whole)) continue;
    statements.push({ first, last });

    const src = lines
      .slice(first - 1, last)
      .join("\n")
      .trim();
    const exit = /\bexit\s+([0-9]+)\b/.exec(whole);
    if (exit && exit[1] !== "0") failureExits.push({ first, last, text: src, word: "exit" });
    const call = /(?:^|[;&|{]\s*|\bthen\s+|\bdo\s+)(_(?:fail|die|abort)\w*)\b(?!\s*\(\))/.exec(whole);
    if (call) failureExits.push({ first, last, text: src, word: call[1] });
    const ret = /\breturn\s+([0-9]+)\b/.exec(whole);
    if (ret && ret[1] !== "0" && fn && FAIL_HELPER.test(fn))
      failureExits.push({ first, last, text: src, word: "return" });
  }
  return { statements, failureExits };
}

/** script -> line -> first words of the commands the trace shows at that line. */
export type Traces = Map<string, Map<number, Set<string>>>;

export const HELPERS = "helpers.sh";

export function helperFunctions(text = readFileSync(path.join(SCRIPTS, HELPERS), "utf8")): Set<string> {
  return new Set([...text.matchAll(/^([\w-]+)\s*\(\)/gm)].map((m) => m[1]));
}

/**
 * Trace lines are `+<LINENO>:<function>: <command>`; a helper function's lines belong to scripts/helpers.sh,
 * whose own trace is a test's driver.
 */
export function readTraces(dir: string, helpers = helperFunctions()): Traces {
  const traces: Traces = new Map();
  if (!existsSync(dir)) return traces;
  const linesOf = (script: string) => {
    const lines = traces.get(script) ?? new Map<number, Set<string>>();
    traces.set(script, lines);
    return lines;
  };
  for (const file of readdirSync(dir)) {
    const m = /^(.*)\.\d+-\d+\.trace$/.exec(file);
    if (!m) continue;
    const traced = m[1].replace(/__/g, "/");
    linesOf(traced);
    for (const l of readFileSync(path.join(dir, file), "utf8").split("\n")) {
      const t = /^\++(\d+):([\w-]*): (\S*)/.exec(l);
      if (!t) continue;
      const script = helpers.has(t[2]) ? HELPERS : traced;
      if (script === HELPERS && !helpers.has(t[2])) continue;
      const lines = linesOf(script);
      const n = Number(t[1]);
      const words = lines.get(n) ?? new Set<string>();
      words.add(t[3]);
      lines.set(n, words);
    }
  }
  return traces;
}

export function scriptFiles(): string[] {
  return readdirSync(SCRIPTS, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".sh"))
    .map((f) => f.split(path.sep).join("/"))
    .sort();
}

export interface ScriptReport {
  readonly script: string;
  readonly run: number;
  readonly runnable: number;
  readonly exitsRun: number;
  readonly exits: number;
  readonly missed: FailureExit[];
}

export function report(traceDir: string): ScriptReport[] {
  const traces = readTraces(traceDir);
  return scriptFiles().map((script) => {
    const shape = analyze(readFileSync(path.join(SCRIPTS, script), "utf8"));
    const lines = traces.get(script) ?? new Map<number, Set<string>>();
    const hit = (s: Statement, word?: string) => {
      for (let n = s.first; n <= s.last; n++) {
        const words = lines.get(n);
        if (words && (word === undefined || words.has(word))) return true;
      }
      return false;
    };
    const run = shape.statements.filter((s) => hit(s)).length;
    const missed = shape.failureExits.filter((e) => !hit(e, e.word));
    return {
      script,
      run,
      runnable: shape.statements.length,
      exitsRun: shape.failureExits.length - missed.length,
      exits: shape.failureExits.length,
      missed,
    };
  });
}

export function printReport(rows: ScriptReport[], out: (s: string) => void = console.log): string[] {
  const problems: string[] = [];
  const w = Math.max(...rows.map((r) => r.script.length), 6);
  out(`\nshell line coverage (statements run / runnable; failure exits run / total)`);
  out(`${"script".padEnd(w)}  ${"lines".padStart(9)}  ${"exits".padStart(7)}`);
  for (const r of rows) {
    out(
      `${r.script.padEnd(w)}  ${`${r.run}/${r.runnable}`.padStart(9)}  ${`${r.exitsRun}/${r.exits}`.padStart(7)}`,
    );
    if (r.run === 0) problems.push(`${r.script}: no test executed this script`);
    for (const e of r.missed)
      problems.push(
        `${r.script}:${e.first}: failure exit never executed by a test: ${e.text.split("\n")[0]}`,
      );
  }
  return problems;
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: shell-coverage.ts <trace-dir>");
    process.exit(64);
  }
  const problems = printReport(report(dir));
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(problems.length ? 1 : 0);
}
