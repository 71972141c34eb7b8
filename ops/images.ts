/**
 * `npm run images` lists the golden node images on this Mac and which VMs were cloned from each;
 * `npm run images -- prune` deletes those no VM of any stack was cloned from. Golden images are shared by every
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

const out = (line: string) => process.stdout.write(`${line}\n`);

const tart = (args: string[]) =>
  execFileSync("tart", args, {
    encoding: "utf8",
    env: withTartPath(process.env),
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 120_000,
  });

function cloneRecords(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!existsSync(dir)) return m;
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".source"))
      m.set(f.slice(0, -".source".length), readFileSync(path.join(dir, f), "utf8").trim());
  }
  return m;
}

function main(argv: string[]): number {
  const [verb, ...rest] = argv;
  if (rest.length > 0 || (verb !== undefined && verb !== "prune")) {
    process.stderr.write("usage: npm run images [-- prune]\n");
    return 2;
  }
  const list = listTartVms(withTartPath(process.env));
  if ("problem" in list) throw new Error(list.problem);
  const vms = list.vms;
  const uses = goldenImageUses(vms, cloneRecords(path.join(tartlabHome(), "vms")));
  if (uses.length === 0) out("no golden images on this Mac");
  for (const u of uses) {
    const size = u.sizeGb === undefined ? "" : `, ${u.sizeGb} GB`;
    out(`${u.name} (${u.state}${size}): ${u.keep ?? "unused"}`);
  }
  if (verb !== "prune") return 0;
  for (const u of uses.filter((x) => x.keep === undefined)) {
    tart(["delete", u.name]);
    out(`deleted ${u.name}`);
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`tartlab images: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
