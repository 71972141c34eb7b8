/**
 * `tartlab images` lists the golden node images on this Mac and which VMs were cloned from each;
 * `tartlab images prune` deletes those no VM of any stack was cloned from. Golden images are shared by every
 * stack and have no delete action in Pulumi (components/golden-image.ts), so this is how old ones go.
 *
 * In use = a local VM exists whose clone record ($TARTLAB_HOME/vms/<vm>.source, written by tart-vm/clone.sh)
 * names the image. A record whose VM is gone counts for nothing. A running image, or a bake's temporary VM
 * ("-baking"), is never touched. Reads `tart list --format json` (JSON, never the text table).
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
  /** Local VMs cloned from it. */
  readonly users: string[];
  /** Why prune keeps it, or undefined when prune deletes it. */
  readonly keep?: string;
}

/** Which golden images are in use, from the local VMs and the clone records (VM name -> source). */
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

/** `tartlab images [prune]`. */
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
