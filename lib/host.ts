/**
 * Host preflight before any resource: facts come from scripts/host/facts.sh and the pure checkHost judges
 * them, so every rule has a table test.
 */
import { LabConfig, allNodes } from "./lab-config";

export interface HostFacts {
  readonly os: string;
  readonly arch: string;
  /** `sw_vers -productVersion` on macOS ("15.5"; "" elsewhere or when it failed). */
  readonly macosVersion: string;
  readonly tart: string;
  /** "" when tart is there but not usable. */
  readonly tartVersion: string;
  readonly softnet: string;
  readonly softnetSuid: boolean;
  /** softnet (after symlinks) is owned by root: without it the SUID bit gives no root. */
  readonly softnetRootOwned: boolean;
  readonly passwordlessSudo: boolean;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly freeDiskBytes: number;
}

const GB = 1e9;
const GIB = 2 ** 30;
/**
 * tartlab runs `tart exec` without a terminal (identity marker, graceful stop, bake): before 2.28.3 that
 * traps (cirruslabs/tart#1121), 2.27.1-2.27.2 cut every exec off after 1 s, and before 2.28.2 `-i` never ends
 * a redirected file (#1100).
 */
const MIN_TART_VERSION = "2.28.3";
/** `tart exec` refuses anything older (Commands/Exec.swift). */
const MIN_MACOS_MAJOR = 14;
/** A 32 GiB Mac runs the 28 GiB default lab. */
export const HOST_MEMORY_RESERVE_BYTES = 4 * GIB;
/** Named when the chosen lab does not fit but this one would (test/small-stack.test.ts checks it). */
export const SMALL_STACK = { name: "small", vms: 2, memoryMb: 3072 + 4096 } as const;
/** The base image (~20 GB logical) plus a few GB per VM for images and logs. */
export const MIN_FREE_DISK_BYTES = (vms: number) => (10 + 5 * vms) * GB;

export function parseHostFacts(text: string): HostFacts {
  const kv = new Map<string, string>();
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const num = (k: string) => Number(kv.get(k) ?? NaN);
  return {
    os: kv.get("os") ?? "",
    arch: kv.get("arch") ?? "",
    macosVersion: kv.get("macosVersion") ?? "",
    tart: kv.get("tart") ?? "",
    tartVersion: kv.get("tartVersion") ?? "",
    softnet: kv.get("softnet") ?? "",
    softnetSuid: kv.get("softnetSuid") === "yes",
    softnetRootOwned: kv.get("softnetRootOwned") === "yes",
    passwordlessSudo: kv.get("passwordlessSudo") === "yes",
    memoryBytes: num("memoryBytes"),
    cpus: num("cpus"),
    freeDiskBytes: num("freeDiskBytes"),
  };
}

export interface HostCheck {
  readonly problems: string[];
  readonly warnings: string[];
}

/**
 * GB as df and Tart count them; need rounds up and free rounds down, so one byte short never reads as enough.
 */
const gbUp = (bytes: number) => `${Math.ceil((bytes / GB) * 10) / 10} GB`;
const gbDown = (bytes: number) => `${Math.floor((bytes / GB) * 10) / 10} GB`;
/** GiB as macOS and Tart count them, rounded the same safe way. */
const gibUp = (bytes: number) => `${Math.ceil((bytes / GIB) * 10) / 10} GiB`;
const gibDown = (bytes: number) => `${Math.floor((bytes / GIB) * 10) / 10} GiB`;

function parseVersion(text: string): number[] | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? m.slice(1).map(Number) : undefined;
}
const older = (a: number[], b: number[]) => {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
};

/** Names the small stack and how to use it, when it fits this Mac and is smaller than the lab asked for. */
function smallStackHint(wantMem: number, haveMem: number): string {
  const small = SMALL_STACK.memoryMb * 2 ** 20;
  if (small >= wantMem || small + HOST_MEMORY_RESERVE_BYTES > haveMem) return "";
  return (
    `; or use the laptop lab (one cluster, ${SMALL_STACK.vms} VMs, ${gibUp(small)}, Jenkins on it), ` +
    `the stack "${SMALL_STACK.name}" whose config Pulumi reads from Pulumi.${SMALL_STACK.name}.yaml: ` +
    `pulumi stack select --create ${SMALL_STACK.name} && pulumi up`
  );
}

export function checkHost(h: HostFacts, lab: LabConfig): HostCheck {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (h.os !== "Darwin") {
    problems.push(
      `host OS is ${h.os || "unknown"}, not macOS: tartlab runs Tart VMs on an Apple Silicon Mac`,
    );
  }
  if (h.os === "Darwin") {
    const major = /^(\d+)(\.|$)/.exec(h.macosVersion);
    if (!major) {
      warnings.push(
        `could not read the macOS version (sw_vers -productVersion: "${h.macosVersion}"); tartlab needs macOS ${MIN_MACOS_MAJOR}+`,
      );
    } else if (Number(major[1]) < MIN_MACOS_MAJOR) {
      problems.push(
        `macOS ${h.macosVersion} is older than ${MIN_MACOS_MAJOR} (Sonoma), whose \`tart exec\` tartlab needs; upgrade macOS`,
      );
    }
  }
  if (h.arch !== "arm64") {
    problems.push(
      `host architecture is ${h.arch || "unknown"}, not arm64: the lab's arm64 images need Apple Silicon`,
    );
  }
  if (!h.tart) {
    problems.push("tart is not on PATH; install it: brew install cirruslabs/cli/tart");
  } else if (!h.tartVersion) {
    problems.push(
      `tart (${h.tart}) is on PATH but \`tart --version\` fails; reinstall: brew reinstall cirruslabs/cli/tart`,
    );
  } else {
    const v = parseVersion(h.tartVersion);
    if (!v) {
      warnings.push(
        `could not read a version from \`tart --version\` ("${h.tartVersion}"); tartlab needs ${MIN_TART_VERSION}+`,
      );
    } else if (older(v, parseVersion(MIN_TART_VERSION)!)) {
      problems.push(
        `tart ${h.tartVersion} is older than ${MIN_TART_VERSION}, the first whose \`tart exec\` works without a ` +
          `terminal (tartlab runs it for every VM); upgrade: brew upgrade cirruslabs/cli/tart`,
      );
    }
  }
  if (!h.softnet) {
    problems.push("softnet is not on PATH; install it: brew install cirruslabs/cli/softnet");
  } else if (!(h.softnetSuid && h.softnetRootOwned) && !h.passwordlessSudo) {
    const why = [!h.softnetRootOwned && "not owned by root", !h.softnetSuid && "no SUID bit"].filter(Boolean);
    problems.push(
      `softnet (${h.softnet}) needs root but is not SUID-root (${why.join(", ")}) and sudo asks for a password; ` +
        `once per install run: S=$(realpath "$(which softnet)"); sudo chown root "$S" && sudo chmod u+s "$S"`,
    );
  }
  // A figure facts.sh could not read is NaN, and saying so beats a silent pass.
  const unread = (
    [
      ["memory (sysctl hw.memsize)", h.memoryBytes],
      ["CPU count (sysctl hw.ncpu)", h.cpus],
      ["free disk where Tart keeps VMs (df -Pk)", h.freeDiskBytes],
    ] as const
  ).filter(([, v]) => !Number.isFinite(v));
  for (const [what] of unread) {
    warnings.push(`could not read this Mac's ${what}; that preflight check was skipped`);
  }
  const nodes = allNodes(lab);
  const wantMem = nodes.reduce((s, { node }) => s + node.memoryMb * 2 ** 20, 0);
  if (Number.isFinite(h.memoryBytes) && wantMem + HOST_MEMORY_RESERVE_BYTES > h.memoryBytes) {
    problems.push(
      `the ${nodes.length} VMs need ${gibUp(wantMem)} of memory and tartlab keeps ${gibUp(HOST_MEMORY_RESERVE_BYTES)} ` +
        `free for macOS (${gibUp(wantMem + HOST_MEMORY_RESERVE_BYTES)} in all), but this Mac has ` +
        `${gibDown(h.memoryBytes)}, ${gibUp(wantMem + HOST_MEMORY_RESERVE_BYTES - h.memoryBytes)} short; ` +
        `lower memoryMb in tartlab:clusters or remove nodes` +
        smallStackHint(wantMem, h.memoryBytes),
    );
  }
  for (const { node } of nodes) {
    if (Number.isFinite(h.cpus) && node.cpus > h.cpus) {
      problems.push(
        `node ${node.name} asks for ${node.cpus} CPUs but this Mac has ${h.cpus}; lower its cpus`,
      );
    }
  }
  const wantDisk = nodes.reduce((s, { node }) => s + node.diskGb * GB, 0);
  if (Number.isFinite(h.freeDiskBytes)) {
    if (h.freeDiskBytes < MIN_FREE_DISK_BYTES(nodes.length)) {
      problems.push(
        `only ${gbDown(h.freeDiskBytes)} free disk; ${nodes.length} VMs need at least ${gbUp(MIN_FREE_DISK_BYTES(nodes.length))}; ` +
          `free space (tart prune --entries caches) or remove nodes`,
      );
    } else if (h.freeDiskBytes < wantDisk + 10 * GB) {
      warnings.push(
        `VM disks may grow to ${gbUp(wantDisk)} in all but only ${gbDown(h.freeDiskBytes)} is free; ` +
          `disks are sparse, so this is fine until they fill up`,
      );
    }
  }
  return { problems, warnings };
}
