/**
 * `npm run plan [-- --stack <name>]`: the resource graph a first `pulumi preview` would see (under mocks,
 * host preflight skipped), its longest chain, and lib/perf-model.ts's estimates.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { VERSIONS } from "../lib/versions";
import { Build, Measurements, estimate, minutes } from "../lib/perf-model";
import { Recorder, edges, runLab } from "./lab-mocks";

/** Written by test/e2e/mac-lab.e2e.ts; they win over the table's figures. */
export const DURATIONS_FILE = path.join(__dirname, "..", "test", "e2e", "durations.json");

export function readMeasurements(file = DURATIONS_FILE): Measurements | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Measurements) : undefined;
}

/** Components share names with their children, so the custom resource's type wins. */
export function modelGraph(rec: Recorder): { name: string; type: string; deps: string[] }[] {
  const g = edges(rec);
  const types = new Map<string, string>();
  for (const r of rec.registrations) if (r.custom || !types.has(r.name)) types.set(r.name, r.type);
  return [...g].map(([name, deps]) => ({ name, type: types.get(name)!, deps: [...deps] }));
}

export function renderModel(rec: Recorder, golden: boolean, measured?: Measurements): string[] {
  const graph = modelGraph(rec);
  const lines = [`Performance model, golden image ${golden ? "ON" : "OFF"} (${graph.length} steps):`];
  for (const build of ["first", "rebuild"] as Build[]) {
    const e = estimate(graph, { golden, build }, measured);
    lines.push(
      `  ${build === "first" ? "first build" : "rebuild    "}: critical path ${minutes(e.critical.seconds)} ` +
        `(${e.critical.path.length} steps), sequential total ${minutes(e.sequentialSeconds)}`,
    );
    const bySource = new Map(e.steps.map((s) => [s.name, s]));
    for (const n of e.critical.path) {
      const s = bySource.get(n)!;
      if (s.seconds > 0) lines.push(`      ${String(s.seconds).padStart(4)} s  ${n}  [${s.source}]`);
    }
  }
  return lines;
}

function stackConfig(stack: string): Record<string, unknown> {
  const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`no stack file ${file}`);
  const config = parse(readFileSync(file, "utf8"))?.config ?? {};
  // The plan does not need the secrets' values.
  for (const [k, v] of Object.entries(config)) {
    if (v && typeof v === "object" && "secure" in (v as object)) config[k] = "<secret>";
  }
  return config;
}

/** By number of resources. */
export function longestChain(rec: Recorder): string[] {
  const g = edges(rec);
  const memo = new Map<string, string[]>();
  const visit = (n: string): string[] => {
    const hit = memo.get(n);
    if (hit) return hit;
    let best: string[] = [];
    for (const d of g.get(n) ?? []) {
      const c = visit(d);
      if (c.length > best.length) best = c;
    }
    const chain = [...best, n];
    memo.set(n, chain);
    return chain;
  };
  let best: string[] = [];
  for (const n of g.keys()) {
    const c = visit(n);
    if (c.length > best.length) best = c;
  }
  return best;
}

export function render(rec: Recorder, stack: string): string {
  const regs = rec.registrations;
  const byParent = new Map<string, typeof regs>();
  for (const r of regs) byParent.set(r.parentUrn, [...(byParent.get(r.parentUrn) ?? []), r]);
  const g = edges(rec);
  const lines: string[] = [
    `tartlab plan for stack "${stack}" (offline, as a first preview: nothing is created, host preflight skipped)`,
    `${regs.length} resources; "<-" lists what a resource waits for (dependencies and its provider)`,
    "",
  ];
  const walk = (urn: string, prefix: string) => {
    const kids = byParent.get(urn) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const deps = [...(g.get(k.name) ?? [])];
      lines.push(
        `${prefix}${last ? "└─ " : "├─ "}${k.name} (${k.type})${deps.length ? `  <- ${deps.join(", ")}` : ""}`,
      );
      walk(k.urn, prefix + (last ? "   " : "│  "));
    });
  };
  for (const root of byParent.get("") ?? []) {
    lines.push(`${root.name} (${root.type})`);
    walk(root.urn, "");
  }
  const chain = longestChain(rec);
  lines.push("", `Longest dependency chain (${chain.length} resources, created one after another):`);
  lines.push(...chain.map((n, i) => `  ${i + 1}. ${n}`));
  return lines.join("\n");
}

function withGolden(config: Record<string, unknown>, on: boolean): Record<string, unknown> {
  const version = String(config["tartlab:kubernetesVersion"] ?? VERSIONS.kubernetes);
  const exact = /^\d+\.\d+\.\d+$/.test(version) ? version : `${version}.0`;
  return on
    ? { ...config, "tartlab:goldenImage": true, "tartlab:kubernetesVersion": exact }
    : { ...config, "tartlab:goldenImage": false };
}

async function main() {
  const i = process.argv.indexOf("--stack");
  const stack = i > 0 ? process.argv[i + 1] : "dev";
  const config = stackConfig(stack);
  const { recorder } = await runLab(config, { preview: true, hostFacts: undefined });
  console.log(render(recorder, stack));
  const measured = readMeasurements();
  console.log(
    "",
    measured
      ? `Figures measured on ${measured.machine} (${measured.recordedAt}) win for their scenario; others are from lib/perf-model.ts`
      : "Figures: lib/perf-model.ts (no test/e2e/durations.json recorded yet)",
  );
  for (const golden of [false, true]) {
    const run = await runLab(withGolden(config, golden), { preview: true, hostFacts: undefined });
    console.log(["", ...renderModel(run.recorder, golden, measured)].join("\n"));
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
