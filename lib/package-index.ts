/**
 * New pkgs.k8s.io minors have repeatedly shipped without `cri-tools` or `kubernetes-cni`
 * (kubernetes/kubernetes #133735, #135803, #138534, #141601), which breaks `apt-get install kubelet` in every
 * VM, so the minor's flat-repository `Packages` index (https://pkgs.k8s.io/core:/stable:/v<minor>/deb/) is
 * judged on the Mac before any VM is made.
 */
import { isExactVersion, minorLine, parseVersion } from "./kube-version";
import { MIN_KUBERNETES_MINOR } from "./versions";

/** Everything this repository publishes; scripts/k8s-node/prepare.sh installs all of it. */
const NODE_PACKAGES = ["kubelet", "kubeadm", "kubectl", "cri-tools", "kubernetes-cni"] as const;
/** prepare.sh installs these at the configured patch (`kubelet=<patch>-*`) and the rest at newest. */
const PINNED = new Set(["kubelet", "kubeadm", "kubectl"]);
/**
 * krel metadata: kubeadm → cri-tools (< 1.32 or built before kubernetes/release #4387), kubelet →
 * kubernetes-cni; other names come from Ubuntu.
 */
const DEPENDENTS = ["kubelet", "kubeadm"];

const PKGS_K8S_IO = "https://pkgs.k8s.io/core:/stable:/";
export const packagesUrl = (minor: string, base = PKGS_K8S_IO) => `${base}v${minor}/deb/Packages`;
const UPSTREAM_ISSUES = "kubernetes/kubernetes #133735, #135803, #138534, #141601";

export class PackageIndexError extends Error {}

export type Stanza = ReadonlyMap<string, string>;

/** Debian Policy §5.1; anything else throws, naming the line. */
export function parseControl(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let cur: Map<string, string> | undefined;
  let last: string | undefined;
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  lines.forEach((line, i) => {
    const at = `line ${i + 1}`;
    if (line.trim() === "") {
      if (cur) stanzas.push(cur);
      cur = undefined;
      last = undefined;
      return;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (!cur || last === undefined)
        throw new PackageIndexError(`${at}: continuation line with no field before it`);
      cur.set(last, `${cur.get(last)}\n${line.trim()}`);
      return;
    }
    const m = /^([!-9;-~][!-9;-~]*):(.*)$/.exec(line);
    if (!m)
      throw new PackageIndexError(`${at}: expected "Field: value", got ${JSON.stringify(line.slice(0, 60))}`);
    cur ??= new Map();
    if (cur.has(m[1])) throw new PackageIndexError(`${at}: field ${m[1]} appears twice in one paragraph`);
    cur.set(m[1], m[2].trim());
    last = m[1];
  });
  if (cur) stanzas.push(cur);
  return stanzas;
}

export interface Dependency {
  readonly name: string;
  readonly op?: string;
  readonly version?: string;
}

export interface PackageEntry {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly depends: Dependency[][];
}

/** Debian Policy §7.1: `a (>= 1), b | c:any (<< 2)`. */
export function parseDepends(value: string): Dependency[][] {
  if (value.trim() === "") return [];
  return value.split(",").map((group) =>
    group.split("|").map((alt) => {
      const m =
        /^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^\s)]+)\s*\))?\s*$/.exec(
          alt,
        );
      if (!m) throw new PackageIndexError(`malformed dependency ${JSON.stringify(alt.trim())} in "${value}"`);
      return m[2] ? { name: m[1], op: m[2], version: m[3] } : { name: m[1] };
    }),
  );
}

export function parsePackagesIndex(text: string): PackageEntry[] {
  return parseControl(text).map((s, i) => {
    const need = (f: string) => {
      const v = s.get(f);
      if (!v) {
        throw new PackageIndexError(
          `paragraph ${i + 1} (${s.get("Package") ?? "no Package"}) has no ${f} field`,
        );
      }
      return v;
    };
    return {
      name: need("Package"),
      version: need("Version"),
      architecture: need("Architecture"),
      depends: parseDepends(s.get("Depends") ?? ""),
    };
  });
}

/** Debian Policy §5.6.12. */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(":");
    const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon > 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf("-");
    return {
      epoch,
      upstream: dash >= 0 ? rest.slice(0, dash) : rest,
      revision: dash >= 0 ? rest.slice(dash + 1) : "",
    };
  };
  // A port of dpkg's verrevcmp (lib/dpkg/version.c): "~" sorts before everything, even the end of the string.
  const isDigit = (c: string) => c >= "0" && c <= "9";
  const order = (c: string) =>
    c === "" || isDigit(c)
      ? 0
      : /[A-Za-z]/.test(c)
        ? c.charCodeAt(0)
        : c === "~"
          ? -1
          : c.charCodeAt(0) + 256;
  const part = (x: string, y: string): number => {
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      while ((i < x.length && !isDigit(x[i])) || (j < y.length && !isDigit(y[j]))) {
        const d = order(x.charAt(i)) - order(y.charAt(j));
        if (d !== 0) return d;
        i++;
        j++;
      }
      while (x.charAt(i) === "0") i++;
      while (y.charAt(j) === "0") j++;
      let first = 0;
      while (isDigit(x.charAt(i)) && isDigit(y.charAt(j))) {
        if (first === 0) first = x.charCodeAt(i) - y.charCodeAt(j);
        i++;
        j++;
      }
      if (isDigit(x.charAt(i))) return 1;
      if (isDigit(y.charAt(j))) return -1;
      if (first !== 0) return first;
    }
    return 0;
  };
  const va = split(a);
  const vb = split(b);
  return va.epoch - vb.epoch || part(va.upstream, vb.upstream) || part(va.revision, vb.revision);
}

const satisfies = (version: string, d: Dependency) => {
  if (!d.op || !d.version) return true;
  const c = compareDebianVersions(version, d.version);
  return { "<<": c < 0, "<=": c <= 0, "=": c === 0, ">=": c >= 0, ">>": c > 0 }[d.op] ?? false;
};
const show = (d: Dependency) => (d.op ? `${d.name} (${d.op} ${d.version})` : d.name);

/** A bare minor means apt takes the newest patch. */
export function missingPackages(entries: PackageEntry[], arch: string, kubernetesVersion: string): string[] {
  const forArch = entries.filter((e) => e.architecture === arch || e.architecture === "all");
  const patch = isExactVersion(kubernetesVersion) ? kubernetesVersion : undefined;
  const candidates = (name: string) =>
    forArch
      .filter((e) => e.name === name && (!patch || !PINNED.has(name) || e.version.startsWith(`${patch}-`)))
      .sort((x, y) => compareDebianVersions(y.version, x.version));
  const missing: string[] = [];
  for (const name of NODE_PACKAGES) {
    if (candidates(name).length > 0) continue;
    const others = forArch.filter((e) => e.name === name);
    missing.push(
      patch && PINNED.has(name) && others.length > 0
        ? `${name} ${patch}: no ${arch} package of that patch (the index has ${others.map((e) => e.version).join(", ")})`
        : `${name}: no ${arch} package in the index`,
    );
  }
  for (const name of DEPENDENTS) {
    const chosen = candidates(name)[0];
    if (!chosen) continue;
    for (const group of chosen.depends) {
      // Ubuntu's own archive provides iptables, mount, ….
      if (!group.every((d) => (NODE_PACKAGES as readonly string[]).includes(d.name))) continue;
      if (group.some((d) => forArch.some((e) => e.name === d.name && satisfies(e.version, d)))) continue;
      missing.push(
        `${name} ${chosen.version} depends on ${group.map(show).join(" | ")}, which the index does not have for ${arch}`,
      );
    }
  }
  return missing;
}

export class IndexNotFound extends Error {}

export interface PackageCheck {
  readonly problems: string[];
  /** The index could not be read; the caller decides (preview: warn, up: refuse). */
  readonly unreachable?: string;
}

/** When something is missing, the newest complete one of the two older minors is named as the fix. */
export async function checkKubernetesPackages(
  kubernetesVersion: string,
  arch: string,
  read: (minor: string) => Promise<string>,
): Promise<PackageCheck> {
  const { major, minor: minorNo } = parseVersion(kubernetesVersion);
  const minor = minorLine(kubernetesVersion);
  let missing: string[];
  try {
    missing = missingPackages(parsePackagesIndex(await read(minor)), arch, kubernetesVersion);
  } catch (e) {
    if (e instanceof IndexNotFound) {
      return {
        problems: [
          `pkgs.k8s.io has no repository for Kubernetes ${minor}: ${e.message}; use an existing minor`,
        ],
      };
    }
    if (e instanceof PackageIndexError) {
      return { problems: [], unreachable: `the pkgs.k8s.io index of ${minor} is malformed (${e.message})` };
    }
    return { problems: [], unreachable: e instanceof Error ? e.message : String(e) };
  }
  if (missing.length === 0) return { problems: [] };
  let instead = `the previous minor (${major}.${minorNo - 1})`;
  for (let m = minorNo - 1; m >= Math.max(MIN_KUBERNETES_MINOR, minorNo - 2); m--) {
    try {
      if (
        missingPackages(parsePackagesIndex(await read(`${major}.${m}`)), arch, `${major}.${m}`).length === 0
      ) {
        instead = `${major}.${m} (its index is complete for ${arch})`;
        break;
      }
    } catch {
      // an older index that cannot be read gives no advice; the generic one stays
    }
  }
  return {
    problems: [
      `the pkgs.k8s.io repository of Kubernetes ${minor} lacks what every node installs (${arch}):\n` +
        missing.map((m) => `      ${m}`).join("\n") +
        `\n    apt-get install would fail inside every VM. New minors' repositories have repeatedly been published ` +
        `without cri-tools or kubernetes-cni until fixed by hand upstream (${UPSTREAM_ISSUES}). ` +
        `Set tartlab:kubernetesVersion to ${instead}, or wait for the packages and retry.`,
    ],
  };
}
