/**
 * Lab snapshots, the pure part: how snapshot VMs are named and marked, the manifest a snapshot keeps under
 * ~/.tartlab/snapshots/<stack>/<name>/, and how a snapshot's config is compared with the lab's. No I/O: the Mac
 * side (mac/snapshot.ts) reads and writes what these functions describe.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { LabConfig } from "./lab-config";

/** A snapshot's name, and the stack part of a snapshot VM's name: one DNS label with no "--" (the separator). */
const NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const SEP = "--";
const PREFIX = "tartlab-snap";
const BACKUP_PREFIX = "tartlab-restore";

/** Why `name` cannot name a snapshot (or a stack in a snapshot VM's name), or undefined when it can. */
export function nameProblem(what: "snapshot" | "stack", name: string): string | undefined {
  if (NAME_RE.test(name) && !name.includes(SEP) && name.length <= 40) return undefined;
  return (
    `${what} name ${JSON.stringify(name)} cannot be used in a snapshot VM's name: use lower-case letters, digits ` +
    `and single dashes (at most 40 characters, no "--")`
  );
}

/** The Tart VM holding snapshot `snapshot` of VM `vm` of stack `stack`. */
export function snapshotVmName(stack: string, snapshot: string, vm: string): string {
  return [PREFIX, stack, snapshot, vm].join(SEP);
}

/** The parts of a snapshot VM's name, or undefined for any other VM. */
export function parseSnapshotVmName(
  name: string,
): { stack: string; snapshot: string; vm: string } | undefined {
  const parts = name.split(SEP);
  if (parts.length < 4 || parts[0] !== PREFIX) return undefined;
  const [, stack, snapshot, ...vm] = parts;
  return { stack, snapshot, vm: vm.join(SEP) };
}

/** Where a restore keeps the lab's VM until the restored one is Ready (renamed back if it is not). */
export function backupVmName(stack: string, vm: string): string {
  return [BACKUP_PREFIX, stack, vm].join(SEP);
}

/**
 * The owner marker of a snapshot VM (and of a restore's backup): it names the stack, and differs from the stack's
 * own marker so that `pulumi up` (revive, drift, the data guard) never takes it for one of the lab's VMs.
 */
export const snapshotMarker = (owner: string) => `${owner} snapshot`;
export const backupMarker = (owner: string) => `${owner} restore-backup`;

/** One VM of a snapshot: what a restore brings back under `name`. */
export interface SnapshotVm {
  readonly name: string;
  readonly cluster: string;
  /** The Tart VM holding its disk. */
  readonly snapshotVm: string;
  /** Its MAC when saved (config.json macAddress): DHCP hands it the address its certificates name. */
  readonly mac: string;
  /** Its address when saved (~/.tartlab/vms/<vm>.ip), when recorded. */
  readonly ip?: string;
}

export interface SnapshotManifest {
  readonly version: 1;
  readonly name: string;
  readonly stack: string;
  readonly owner: string;
  /** ISO time the VMs were cloned. */
  readonly createdAt: string;
  readonly configDigest: string;
  /** The validated lab config when saved: what a restore compares the lab's config with. */
  readonly config: LabConfig;
  readonly vms: readonly SnapshotVm[];
  /**
   * Files of ~/.tartlab the lab's later steps read, by path relative to it: the clusters' version records, the
   * kubeconfigs, each VM's records (address, clone record, run options). Holds credentials: the manifest is 0600.
   */
  readonly records: Readonly<Record<string, string>>;
  /** Whether `pulumi stack export` was saved next to the manifest (pulumi-state.json, 0600). */
  readonly pulumiState: boolean;
}

const manifestSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  stack: z.string(),
  owner: z.string(),
  createdAt: z.string(),
  configDigest: z.string(),
  config: z.record(z.string(), z.unknown()),
  vms: z.array(
    z.object({
      name: z.string(),
      cluster: z.string(),
      snapshotVm: z.string(),
      mac: z.string(),
      ip: z.string().optional(),
    }),
  ),
  records: z.record(z.string(), z.string()),
  pulumiState: z.boolean(),
});

/** Parses a manifest; a malformed one is an error naming the file. */
export function parseManifest(text: string, file: string): SnapshotManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON; it is written by npm run snapshot -- save`);
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`${file} is not a tartlab snapshot manifest (${first.path.join(".")}: ${first.message})`);
  }
  return r.data as unknown as SnapshotManifest;
}

/** JSON with object keys sorted, so equal configs have equal digests whatever the key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function configDigest(config: LabConfig): string {
  return `sha256:${createHash("sha256").update(canonical(config)).digest("hex")}`;
}

/** Leaf values by path; list items that have a name are addressed by it (`clusters[dev].nodes[dev-w1].cpus`). */
function leaves(v: unknown, at: string, out: Map<string, string>): void {
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      const name = (item as { name?: unknown } | null)?.name;
      leaves(item, `${at}[${typeof name === "string" ? name : i}]`, out);
    });
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) leaves(x, at ? `${at}.${k}` : k, out);
  } else if (v !== undefined) out.set(at, JSON.stringify(v));
}

/** Where two configs differ: one line per path, `path: saved -> now` (absent on one side says so). */
export function configDiff(saved: LabConfig, now: LabConfig): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  leaves(saved, "", a);
  leaves(now, "", b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => a.get(p) !== b.get(p))
    .map((p) => `${p}: ${a.get(p) ?? "(absent)"} -> ${b.get(p) ?? "(absent)"}`);
}

/** The config keys (`tartlab:<key>`) that a diff touches. */
export function diffKeys(diff: readonly string[]): string[] {
  return [...new Set(diff.map((line) => `tartlab:${line.split(/[.[:]/)[0]}`))];
}

/** "5s", "3m", "2h", "4d": how long ago, for the list. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export interface SnapshotRow {
  readonly name: string;
  /** ISO time, "" when the snapshot has no manifest. */
  readonly createdAt: string;
  readonly vms: number;
  /** Sum of Tart's Size of its VMs (GB), undefined when a VM is missing. */
  readonly sizeGb?: number;
  readonly problems: readonly string[];
}

/** The list's table. */
export function formatSnapshotList(rows: readonly SnapshotRow[], now: number): string {
  if (rows.length === 0) return "no snapshots\n";
  const lines = [["NAME", "AGE", "VMS", "SIZE", "NOTES"]];
  for (const r of rows) {
    lines.push([
      r.name,
      r.createdAt === "" ? "?" : formatAge(now - Date.parse(r.createdAt)),
      String(r.vms),
      r.sizeGb === undefined ? "?" : `${r.sizeGb} GB`,
      r.problems.join("; "),
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines
    .map(
      (l) =>
        `${l
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd()}\n`,
    )
    .join("");
}
