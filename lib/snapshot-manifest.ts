/**
 * The pure part of lab snapshots: VM names and markers, the manifest under
 * ~/.tartlab/snapshots/<stack>/<name>/, and the config comparison; mac/snapshot.ts does the I/O.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { LabConfig } from "./lab-config";

/** One DNS label without "--", the separator in a snapshot VM's name. */
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

export function snapshotVmName(stack: string, snapshot: string, vm: string): string {
  return [PREFIX, stack, snapshot, vm].join(SEP);
}

export function parseSnapshotVmName(
  name: string,
): { stack: string; snapshot: string; vm: string } | undefined {
  const parts = name.split(SEP);
  if (parts.length < 4 || parts[0] !== PREFIX) return undefined;
  const [, stack, snapshot, ...vm] = parts;
  return { stack, snapshot, vm: vm.join(SEP) };
}

/** Renamed back if the restored VM never gets Ready. */
export function backupVmName(stack: string, vm: string): string {
  return [BACKUP_PREFIX, stack, vm].join(SEP);
}

/** Unlike the stack's own marker, so `pulumi up` (revive, drift, data guard) never takes it for a lab VM. */
export const snapshotMarker = (owner: string) => `${owner} snapshot`;
export const backupMarker = (owner: string) => `${owner} restore-backup`;

export interface SnapshotVm {
  readonly name: string;
  readonly cluster: string;
  readonly snapshotVm: string;
  /** DHCP hands the saved MAC the address its certificates name. */
  readonly mac: string;
  readonly ip?: string;
}

export interface SnapshotManifest {
  readonly version: 1;
  readonly name: string;
  readonly stack: string;
  readonly owner: string;
  readonly createdAt: string;
  readonly configDigest: string;
  readonly config: LabConfig;
  readonly vms: readonly SnapshotVm[];
  /**
   * Files of ~/.tartlab the later steps read (version records, kubeconfigs, VM records); they hold
   * credentials, so the manifest is 0600.
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

/** Keys sorted so that equal configs have equal digests. */
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

/** List items with a name are addressed by it (`clusters[dev].nodes[dev-w1].cpus`). */
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

export function diffKeys(diff: readonly string[]): string[] {
  return [...new Set(diff.map((line) => `tartlab:${line.split(/[.[:]/)[0]}`))];
}

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
