/**
 * `tartlab images [prune]`: golden images are shared by every stack and have no delete action in Pulumi, so
 * prune deletes those no existing VM's clone record names, never a running one or a bake's "-baking" VM.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { GOLDEN_PREFIX } from "../lib/node-image";
import { tartlabHome } from "../mac/home";
import { TartVm, listTartVms, withTartPath } from "../mac/tart";
import { CliIo, EXIT, Invocation, UsageError } from "./cli";

export interface GoldenImageUse {
  readonly name: string;
  readonly state: string;
  readonly sizeGb?: number;
  readonly users: string[];
  /** Undefined when prune deletes it. */
  readonly keep?: string;
}

export function goldenImageUses(
  vms: readonly TartVm[],
  sources: ReadonlyMap<string, string>,
): GoldenImageUse[] {
  const local = vms.filter((v) => v.Source === undefined || v.Source === "local");
  const exists = new Set(local.map((v) => v.Name));
  return local
    .filter((v) => v.Name.startsWith(GOLDEN_PREFIX))
    .map((v) => {
      const users = [...sources]
        .filter(([vm, src]) => src === v.Name && exists.has(vm))
        .map(([vm]) => vm)
        .sort();
      const keep = v.Name.endsWith("-baking")
        ? "a bake's temporary VM (the bake deletes it)"
        : v.State === "running"
          ? "running"
          : users.length > 0
            ? `cloned by ${users.join(", ")}`
            : undefined;
      return { name: v.Name, state: v.State, sizeGb: v.Size, users, keep };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function cloneRecords(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!existsSync(dir)) return m;
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".source"))
      m.set(f.slice(0, -".source".length), readFileSync(path.join(dir, f), "utf8").trim());
  }
  return m;
}

function tart(args: string[], env: NodeJS.ProcessEnv): string {
  return execFileSync("tart", args, {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 120_000,
  });
}

export async function imagesCommand(inv: Invocation, io: CliIo): Promise<number> {
  const [verb] = inv.positionals;
  if (verb !== undefined && verb !== "prune") throw new UsageError(`unknown argument ${verb}`);
  const out = (line: string) => io.out(`${line}\n`);
  const env = withTartPath(io.env);
  const list = listTartVms(env);
  if ("problem" in list) throw new Error(list.problem);
  const vms = list.vms;
  const uses = goldenImageUses(vms, cloneRecords(path.join(tartlabHome(io.env), "vms")));
  if (uses.length === 0) out("no golden images on this Mac");
  for (const u of uses) {
    const size = u.sizeGb === undefined ? "" : `, ${u.sizeGb} GB`;
    out(`${u.name} (${u.state}${size}): ${u.keep ?? "unused"}`);
  }
  if (verb !== "prune") return EXIT.ok;
  for (const u of uses.filter((x) => x.keep === undefined)) {
    tart(["delete", u.name], env);
    out(`deleted ${u.name}`);
  }
  return EXIT.ok;
}

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(["images", ...process.argv.slice(2)]));
}
