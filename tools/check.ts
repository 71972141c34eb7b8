/**
 * `npm run check` (CI) and `npm run check:deep`: static checks, tests, then the changed guards (all with
 * --deep); every phase runs even after a failure so one run shows every problem, and phases timed by .ci/run
 * arrive as TARTLAB_PHASES="name=seconds,…".
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

export interface Phase {
  readonly name: string;
  readonly command: readonly string[];
}

export function phases(deep: boolean): Phase[] {
  const tsx = [process.execPath, "--import", "tsx"];
  return [
    { name: "typecheck", command: ["npx", "tsc", "-p", "tsconfig.json", "--noEmit"] },
    { name: "lint", command: ["npx", "eslint", "."] },
    // The installed knip, never fetched at run time.
    { name: "knip", command: [process.execPath, "node_modules/knip/bin/knip.js"] },
    { name: "format", command: ["npx", "prettier", "--check", "."] },
    { name: "shellcheck", command: ["bash", "test/shellcheck.sh"] },
    { name: "tests", command: [...tsx, "tools/run-tests.ts"] },
    {
      name: deep ? "guards (all)" : "guards (changed)",
      command: [...tsx, "tools/guards.ts", deep ? "--all" : "--changed"],
    },
  ];
}

/** Anything malformed is ignored, since it only labels the table. */
export function callerPhases(spec: string | undefined): { name: string; seconds: number; ok: boolean }[] {
  return (spec ?? "")
    .split(",")
    .map((p) => /^([^=]+)=([0-9.]+)$/.exec(p.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1], seconds: Number(m[2]), ok: true }));
}

export function table(rows: { name: string; seconds: number; ok: boolean }[]): string {
  const total = rows.reduce((s, r) => s + r.seconds, 0);
  const lines = rows.map(
    (r) => `  ${r.name.padEnd(18)} ${r.seconds.toFixed(1).padStart(8)} s  ${r.ok ? "ok" : "FAILED"}`,
  );
  return [
    "phase                   wall time",
    ...lines,
    `  ${"total".padEnd(18)} ${total.toFixed(1).padStart(8)} s`,
  ].join("\n");
}

function main(): number {
  const deep = process.argv.includes("--deep");
  const rows = callerPhases(process.env.TARTLAB_PHASES);
  for (const p of phases(deep)) {
    console.log(`\n==> ${p.name}: ${p.command.join(" ")}`);
    const start = process.hrtime.bigint();
    const r = spawnSync(p.command[0], p.command.slice(1), { cwd: ROOT, stdio: "inherit" });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rows.push({ name: p.name, seconds, ok: r.status === 0 });
  }
  console.log(`\n${table(rows)}`);
  const failed = rows.filter((r) => !r.ok).map((r) => r.name);
  if (failed.length) console.error(`FAILED: ${failed.join(", ")}`);
  return failed.length ? 1 : 0;
}

if (require.main === module) process.exit(main());
