/**
 * `npm run plan [-- --stack <name>]`: evaluates the program offline for a stack's config, as a first
 * `pulumi preview` would (under mocks, every computed output unknown; host preflight skipped), and prints the
 * resource graph: each resource under its parent with what it waits for, then the longest dependency chain.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { Recorder, edges, runLab } from "../test/harness/pulumi";

function stackConfig(stack: string): Record<string, unknown> {
  const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
  if (!existsSync(file)) throw new Error(`no stack file ${file}`);
  const config = parse(readFileSync(file, "utf8"))?.config ?? {};
  // Secrets are encrypted in the stack file; the plan does not need their values.
  for (const [k, v] of Object.entries(config)) {
    if (v && typeof v === "object" && "secure" in (v as object)) config[k] = "<secret>";
  }
  return config;
}

/** Longest path (by number of resources) through the ordering edges. */
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

async function main() {
  const i = process.argv.indexOf("--stack");
  const stack = i > 0 ? process.argv[i + 1] : "dev";
  const { recorder } = await runLab(stackConfig(stack), { preview: true, hostFacts: undefined });
  console.log(render(recorder, stack));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
