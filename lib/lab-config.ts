/**
 * The typed lab configuration and every rule it must satisfy. Pure: no Pulumi, no I/O. lib/config.ts feeds it
 * the raw stack config; tests feed it tables of bad configs.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { Ipv4Range, parseIpv4Cidr, rangesOverlap } from "./ip";
import { VERSION_RE, isExactVersion, minorLine, parseVersion } from "./kube-version";
import { CILIUM_TESTED_KUBERNETES, MAX_KUBERNETES_MINOR, MIN_KUBERNETES_MINOR, VERSIONS } from "./versions";

/** Config namespace = Pulumi project name. Every message names keys as `tartlab:<key>`. */
export const NS = "tartlab";

/** DNS-1123 label: what Kubernetes accepts as a node name and what a hostname may be. */
const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type NodeRole = "control-plane" | "worker";

export interface NodeSpec {
  readonly name: string;
  readonly role: NodeRole;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
}

export interface ClusterSpec {
  readonly name: string;
  /**
   * Cilium cluster.id, 1..255, unique per lab (keeps ClusterMesh possible). Set explicitly or derived from the
   * name (`clusterIdFromName`), never from the list position: adding, removing or reordering clusters must not
   * change a live cluster's id (a Helm upgrade of its CNI).
   */
  readonly id: number;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly nodes: readonly NodeSpec[];
  /**
   * The Kubernetes version this cluster should run: its own `kubernetesVersion`, else the lab's (V02: a validated
   * string). Changing it upgrades that cluster alone (components/kubeadm-cluster.ts, mac/cluster-record.ts).
   */
  readonly kubernetesVersion: string;
  /** The config key `kubernetesVersion` came from, for messages (the cluster's own key or the lab's). */
  readonly kubernetesVersionKey: string;
}

export interface JenkinsSpec {
  readonly enabled: boolean;
  /** Name of the cluster Jenkins runs on. */
  readonly cluster: string;
  /** NodePort the Mac's browser uses (30000-32767). */
  readonly nodePort: number;
  /** Keep Jenkins' home volume when Jenkins is disabled (components/jenkins.ts; README "Changing a lab"). */
  readonly retainData: boolean;
}

/** kind-style kubectl contexts: what the host-kubeconfig step does with the user's kubeconfig. */
export interface KubeconfigSpec {
  /** Merge each cluster's `tartlab-<cluster>` context into the user's kubeconfig (false: files only). */
  readonly merge: boolean;
  /** The cluster whose context becomes kubectl's current context; unset: the current context is left alone. */
  readonly currentContext?: string;
}

export interface LabConfig {
  readonly kubernetesVersion: string;
  readonly ciliumVersion: string;
  readonly baseImage: string;
  readonly sshUser: string;
  /** The host's VM network (Tart shared/softnet DHCP range); no cluster range may overlap it. */
  readonly vmNetworkCidr: string;
  /** Value of `tart run --net-softnet-allow`; 0.0.0.0/0 is what lifts VM-to-VM isolation (T03). */
  readonly softnetAllow: string;
  /** Seconds `tart ip --wait` waits for a DHCP lease before the VM counts as failed (T09). */
  readonly ipWaitSeconds: number;
  /**
   * Clone node VMs from a golden image baked once (components/golden-image.ts: packages, containerd, images)
   * instead of preparing every node; needs an exact kubernetesVersion ("1.35.2"): the image is named by it.
   */
  readonly goldenImage: boolean;
  readonly clusters: readonly ClusterSpec[];
  readonly jenkins: JenkinsSpec;
  /**
   * The user accepts that removing a node deletes the local-path volumes on it (mac/data-guard.ts refuses
   * otherwise). Meant for one `pulumi up`, then unset.
   */
  readonly allowDataLoss: boolean;
  readonly kubeconfig: KubeconfigSpec;
  /** The meshed clusters' names in config order (Cilium ClusterMesh); empty when the mesh is off. */
  readonly clusterMesh: readonly string[];
}

/** Raw values as they come out of the stack config: scalars as strings, structured keys as parsed JSON. */
export type RawConfig = Partial<Record<keyof LabConfig, unknown>>;

export class LabConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `tartlab configuration has ${problems.length} problem(s); nothing was created:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "LabConfigError";
  }
}

/** A whole number in [min, max]; `why` says what the minimum protects, in the message that refuses less. */
const int = (min: number, max: number, unit: string, why?: string) =>
  z
    .number({ error: (i) => `must be a number (${unit}), got ${show(i.input)}` })
    .int({ error: (i) => `must be a whole number of ${unit}, got ${show(i.input)}` })
    .min(min, {
      error: (i) => `${show(i.input)} is below the minimum ${min} ${unit}` + (why ? ` (${why})` : ""),
    })
    .max(max, { error: (i) => `${show(i.input)} is above the maximum ${max} ${unit}` });

const nodeSchema = z.strictObject({
  name: z.string(),
  role: z.enum(["control-plane", "worker"], {
    error: (i) => `must be "control-plane" or "worker", got ${show(i.input)}`,
  }),
  cpus: int(2, 32, "CPUs", "kubeadm's preflight refuses a control plane with fewer than 2 CPUs"),
  memoryMb: int(
    2048,
    131072,
    "MB",
    "kubeadm's preflight wants 1700 MB, and Ubuntu, containerd and the Cilium agent need the rest",
  ),
  // `tart set --disk-size` only grows a disk.
  diskGb: int(20, 2000, "GB", "the base image's disk is 20 GB and Tart cannot shrink it"),
});

const clusterSchema = z.strictObject({
  name: z.string(),
  id: int(1, 255, "(Cilium cluster id)").optional(),
  podCidr: z.string({ error: (i) => `must be a CIDR string such as "10.10.0.0/16", got ${show(i.input)}` }),
  serviceCidr: z.string({
    error: (i) => `must be a CIDR string such as "10.96.0.0/16", got ${show(i.input)}`,
  }),
  // Checked by checkKubernetes (V02: a number is refused with the hint to quote it).
  kubernetesVersion: z.unknown().optional(),
  nodes: z.array(nodeSchema).min(1, { error: "must list at least one node (the control plane)" }),
});

const jenkinsSchema = z.strictObject({
  enabled: z.boolean().optional(),
  cluster: z.string().optional(),
  nodePort: int(30000, 32767, "(NodePort range)").optional(),
  retainData: z.boolean({ error: (i) => `must be true or false, got ${show(i.input)}` }).optional(),
});

/**
 * A top-level switch: `pulumi config set tartlab:<key> true` stores the string "true", a stack file may hold the
 * YAML boolean; anything else is refused (a typo must not silently mean "false" for a safety switch).
 */
function checkBoolean(key: keyof LabConfig, raw: unknown, dflt: boolean, problems: string[]): boolean {
  if (raw === undefined) return dflt;
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  problems.push(`${NS}:${key} must be true or false, got ${show(raw)}`);
  return dflt;
}
const kubeconfigSchema = z.strictObject({
  merge: z.boolean({ error: (i) => `must be true or false, got ${show(i.input)}` }).optional(),
  currentContext: z.string({ error: (i) => `must be a cluster name, got ${show(i.input)}` }).optional(),
});

/** Shows a config value the way the user wrote it (strings quoted, numbers bare). */
function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

/**
 * Where a zod issue is, as the user would say it: `tartlab:jenkins.nodePort`, and inside clusters the cluster's and
 * the node's names (`cluster "dev" node "dev-worker1" memoryMb`), not their list positions.
 */
function keyOf(key: string, raw: unknown, path: readonly PropertyKey[]): string {
  if (key !== "clusters" || path.length === 0) {
    let s = `${NS}:${key}`;
    for (const p of path) s += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
    return s;
  }
  const [ci, field, ni, ...rest] = path;
  const cluster = Array.isArray(raw) ? (raw[Number(ci)] as { name?: unknown; nodes?: unknown }) : undefined;
  let s = clusterAt(cluster?.name, Number(ci));
  if (field === undefined) return s;
  if (field !== "nodes" || ni === undefined)
    return `${s} ${[field, ni, ...rest].filter((p) => p !== undefined).join(".")}`;
  const node = Array.isArray(cluster?.nodes) ? (cluster.nodes[Number(ni)] as { name?: unknown }) : undefined;
  s += ` ${nodeAt(node?.name, Number(ni))}`;
  return rest.length > 0 ? `${s} ${rest.join(".")}` : s;
}

/** The keys a zod object at `path` accepts, for "did you mean". */
function knownKeys(key: string, path: readonly PropertyKey[]): readonly string[] {
  if (key === "jenkins") return Object.keys(jenkinsSchema.shape);
  if (key === "kubeconfig") return Object.keys(kubeconfigSchema.shape);
  return Object.keys(path.length >= 3 ? nodeSchema.shape : clusterSchema.shape);
}

/** Edit distance (insert, delete, replace, swap of neighbours), case-insensitive. */
function distance(a: string, b: string): number {
  [a, b] = [a.toLowerCase(), b.toLowerCase()];
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The refusal of a key nobody reads (a typo would otherwise silently mean the default): the closest valid key when
 * one is close, else the list of valid keys.
 */
export function unknownKeyProblem(where: string, key: string, known: readonly string[]): string {
  const [best] = [...known].sort((a, b) => distance(key, a) - distance(key, b));
  const close = best !== undefined && distance(key, best) <= Math.max(2, Math.floor(key.length / 4));
  return (
    `${where} has an unknown key ${show(key)}; ` +
    (close ? `did you mean ${show(best)}?` : `valid keys: ${known.join(", ")}`)
  );
}

function zodProblems(key: string, raw: unknown, err: z.ZodError): string[] {
  return err.issues.flatMap((i) => {
    const where = keyOf(key, raw, i.path);
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => unknownKeyProblem(where, k, knownKeys(key, i.path)));
    }
    return [`${where} ${i.message}`];
  });
}

function parseWith<T>(key: string, schema: z.ZodType<T>, raw: unknown, problems: string[]): T | undefined {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  problems.push(...zodProblems(key, raw, r.error));
  return undefined;
}

/**
 * V02: versions are strings. A YAML number such as 1.30 reaches us as the number 1.3 (or the string "1.3");
 * both are refused with the hint to quote, never silently used.
 */
function checkVersion(key: string, raw: unknown, problems: string[]): string | undefined {
  if (typeof raw === "number") {
    // A key inside clusters has no `pulumi config set` of its own: the fix is in the stack file.
    const fix = key.startsWith(`${NS}:`)
      ? `${key}: "${raw}" (pulumi config set ${key} -- "<version>" stores a string)`
      : `${key.split(" ").pop()}: "${raw}" in the stack file`;
    problems.push(`${key} is the number ${raw}, not a string; YAML turns 1.30 into 1.3. Quote it: ${fix}`);
    return undefined;
  }
  if (typeof raw !== "string" || !VERSION_RE.test(raw)) {
    const bare = typeof raw === "string" ? raw.replace(/^v/, "") : "";
    const hint = bare !== raw && VERSION_RE.test(bare) ? `; drop the v: "${bare}"` : "";
    problems.push(`${key} ${show(raw)} is not a version of the form "1.31" or "1.31.4"${hint}`);
    return undefined;
  }
  return raw;
}

function checkKubernetes(
  key: string,
  raw: unknown,
  problems: string[],
  warnings: string[],
): string | undefined {
  const v = checkVersion(key, raw, problems);
  if (v === undefined) return undefined;
  const { major, minor } = parseVersion(v);
  if (major !== 1 || minor < MIN_KUBERNETES_MINOR) {
    const hint =
      major === 1 && minor < 10
        ? ` (if you wrote 1.${minor}0 unquoted, YAML read it as ${v}; quote it)`
        : " (kubeadm config API v1beta4 needs 1.31 or newer)";
    problems.push(`${key} "${v}" is older than 1.${MIN_KUBERNETES_MINOR}${hint}`);
    return undefined;
  }
  if (minor > MAX_KUBERNETES_MINOR) {
    warnings.push(
      `${key} "${v}" is newer than any minor tartlab was written against (1.${MAX_KUBERNETES_MINOR})`,
    );
  }
  return v;
}

function checkCilium(raw: unknown, problems: string[]) {
  const key = `${NS}:ciliumVersion`;
  const v = checkVersion(key, raw, problems);
  if (v === undefined) return undefined;
  const { major, minor } = parseVersion(v);
  if (major !== 1 || minor < 14) {
    const hint =
      major === 1 && minor < 10 ? ` (if you wrote 1.${minor}0 unquoted, YAML read it as ${v})` : "";
    problems.push(
      `${key} "${v}" is older than 1.14, the first release with kubeProxyReplacement "true"${hint}`,
    );
    return undefined;
  }
  return v;
}

/**
 * Each Kubernetes version the lab may run (the lab's, each cluster's own) against the Cilium release's list
 * (CILIUM_TESTED_KUBERNETES): a minor older than every listed one has no Cilium support and is refused; a newer one
 * "will depend on the backward compatibility offered by Kubernetes" (Cilium's requirements page), so it only warns.
 */
function checkCiliumKubernetes(
  cilium: string,
  versions: readonly { readonly key: string; readonly version: string }[],
  problems: string[],
  warnings: string[],
) {
  const tested = CILIUM_TESTED_KUBERNETES[minorLine(cilium)];
  const minorOf = (v: string) => parseVersion(v).minor;
  const warned = new Set<string>();
  for (const { key, version } of versions) {
    const k8sMinor = minorLine(version);
    if (tested?.includes(k8sMinor)) continue;
    if (tested && minorOf(k8sMinor) < Math.min(...tested.map(minorOf))) {
      problems.push(
        `${key} "${version}": Cilium ${cilium} (${NS}:ciliumVersion) does not support Kubernetes ${k8sMinor}, ` +
          `older than every minor it is tested with (${tested.join(", ")}; lib/versions.ts); set ${key} to one of ` +
          `those, or ${NS}:ciliumVersion to a release that lists ${k8sMinor}`,
      );
      continue;
    }
    if (warned.has(k8sMinor)) continue;
    warned.add(k8sMinor);
    warnings.push(
      `Cilium ${cilium} does not list Kubernetes ${k8sMinor} as e2e tested` +
        (tested ? ` (tested: ${tested.join(", ")})` : " (no compatibility data recorded in lib/versions.ts)"),
    );
  }
}

interface ParsedCidr {
  readonly key: string;
  readonly text: string;
  readonly range: Ipv4Range;
}

/** Parses an IPv4 CIDR that must be a network address; pushes a problem naming key and fix otherwise. */
function checkCidr(key: string, raw: unknown, problems: string[]): ParsedCidr | undefined {
  if (typeof raw !== "string") {
    problems.push(`${key} must be a CIDR string such as "10.10.0.0/16", got ${show(raw)}`);
    return undefined;
  }
  const parsed = parseIpv4Cidr(raw);
  if ("range" in parsed) return { key, text: raw, range: parsed.range };
  problems.push(
    parsed.error === "not-cidr"
      ? `${key} ${show(raw)} is not a CIDR; write it as address/prefix, e.g. "10.10.0.0/16"`
      : parsed.error === "not-ipv4"
        ? `${key} ${show(raw)} must be an IPv4 CIDR in dotted form (Softnet passes IPv4 only)`
        : `${key} ${show(raw)} has host bits set; did you mean "${parsed.network}/${parsed.bits}"?`,
  );
  return undefined;
}

function cidrsOverlap(a: ParsedCidr, b: ParsedCidr): boolean {
  return rangesOverlap(a.range, b.range);
}

function checkName(key: string, name: string, maxLen: number, problems: string[]): void {
  if (name.length > maxLen || !DNS1123_LABEL_RE.test(name)) {
    const fixed = name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, maxLen);
    problems.push(
      `${key} ${show(name)} is not a valid name: use at most ${maxLen} lowercase letters, digits and "-", ` +
        `starting and ending with a letter or digit` +
        (fixed && fixed !== name ? ` (e.g. "${fixed}")` : ""),
    );
  }
}

export interface ValidatedConfig {
  readonly config: LabConfig;
  readonly warnings: readonly string[];
}

/** What validation found: problems refuse the config, warnings are printed and the run goes on. */
interface Findings {
  readonly problems: string[];
  readonly warnings: string[];
}

type ClusterShape = z.infer<typeof clusterSchema>;
type NodeShape = z.infer<typeof nodeSchema>;

/** A cluster that passed the shape check, with what several rules need worked out once. */
interface Draft {
  readonly shape: ClusterShape;
  /** How messages name it: `cluster "dev"`. */
  readonly at: string;
  /** Its Cilium cluster id: the one set, else the one its name derives. */
  readonly id: number;
  readonly pod?: ParsedCidr;
  readonly svc?: ParsedCidr;
  readonly controlPlanes: readonly NodeShape[];
}

/** The top-level keys other than clusters, jenkins and kubeconfig, checked and defaulted. */
interface Scalars {
  readonly kubernetesVersion?: string;
  readonly ciliumVersion?: string;
  readonly baseImage: string;
  readonly sshUser: string;
  readonly vmNet?: ParsedCidr;
  readonly softnetAllow: string;
  readonly ipWaitSeconds: number;
  readonly goldenImage: boolean;
  readonly allowDataLoss: boolean;
}

/** Validates raw stack config; throws LabConfigError listing every problem, each with key, value and fix. */
export function validateLabConfig(raw: RawConfig): ValidatedConfig {
  const f: Findings = { problems: [], warnings: [] };
  const lab = checkScalars(raw, f);
  const shapes = checkClustersShape(raw.clusters, f);
  const jenkinsRaw = parseWith("jenkins", jenkinsSchema, raw.jenkins ?? {}, f.problems) ?? {};
  const kubeconfigRaw = parseWith("kubeconfig", kubeconfigSchema, raw.kubeconfig ?? {}, f.problems) ?? {};

  let clusters: ClusterSpec[] | undefined;
  if (shapes) {
    const drafts = shapes.map((c, i) => draft(c, i, f));
    clusterNamesValidAndUnique(drafts, f);
    clusterIdsUnique(drafts, f);
    oneControlPlaneEach(drafts, f);
    nodeNamesValidAndUnique(drafts, f);
    rangesSized(drafts, f);
    rangesApart(drafts, lab.vmNet, f);
    const versions = clusterVersions(drafts, lab, f);
    clusters = drafts.map((d, i) => spec(d, versions[i], lab));
  }
  const jenkins = checkJenkins(jenkinsRaw, clusters, f);
  const kubeconfig = checkKubeconfig(kubeconfigRaw, clusters, f.problems);
  if (lab.ciliumVersion !== undefined && lab.kubernetesVersion !== undefined && clusters) {
    checkCiliumKubernetes(
      lab.ciliumVersion,
      [
        { key: `${NS}:kubernetesVersion`, version: lab.kubernetesVersion },
        ...clusters
          .filter((c) => c.kubernetesVersionKey !== `${NS}:kubernetesVersion`)
          .map((c) => ({ key: c.kubernetesVersionKey, version: c.kubernetesVersion })),
      ],
      f.problems,
      f.warnings,
    );
  }

  if (f.problems.length > 0) throw new LabConfigError(f.problems);
  return {
    config: {
      kubernetesVersion: lab.kubernetesVersion!,
      ciliumVersion: lab.ciliumVersion!,
      baseImage: lab.baseImage,
      sshUser: lab.sshUser,
      vmNetworkCidr: lab.vmNet!.text,
      softnetAllow: lab.softnetAllow,
      ipWaitSeconds: lab.ipWaitSeconds,
      goldenImage: lab.goldenImage,
      clusters: clusters!,
      jenkins,
      allowDataLoss: lab.allowDataLoss,
      kubeconfig,
      clusterMesh: [],
    },
    warnings: f.warnings,
  };
}

function checkScalars(raw: RawConfig, f: Findings): Scalars {
  const { problems, warnings } = f;
  const kubernetesVersion = checkKubernetes(
    `${NS}:kubernetesVersion`,
    raw.kubernetesVersion ?? VERSIONS.kubernetes,
    problems,
    warnings,
  );
  const ciliumVersion = checkCilium(raw.ciliumVersion ?? VERSIONS.cilium, problems);
  const str = (key: keyof LabConfig, dflt: string): string => {
    const v = raw[key] ?? dflt;
    if (typeof v !== "string" || v.trim() === "") {
      problems.push(`${NS}:${key} must be a non-empty string, got ${show(v)}`);
      return dflt;
    }
    return v;
  };
  const baseImage = str("baseImage", VERSIONS.baseImage);
  const sshUser = str("sshUser", "admin");
  if (!/^[a-z_][a-z0-9_-]*$/.test(sshUser)) {
    problems.push(`${NS}:sshUser ${show(sshUser)} is not a Linux user name (e.g. "admin")`);
  }
  const vmNet = checkCidr(`${NS}:vmNetworkCidr`, raw.vmNetworkCidr ?? "192.168.64.0/24", problems);
  const softnetAllow = str("softnetAllow", "0.0.0.0/0");
  for (const [i, part] of softnetAllow.split(",").entries()) {
    checkCidr(`${NS}:softnetAllow[${i}]`, part, problems);
  }
  const ipWaitRaw = raw.ipWaitSeconds ?? 180;
  const ipWait = typeof ipWaitRaw === "string" && /^\d+$/.test(ipWaitRaw) ? Number(ipWaitRaw) : ipWaitRaw;
  const ipWaitSeconds = parseWith("ipWaitSeconds", int(10, 3600, "seconds"), ipWait, problems) ?? 180;
  const goldenImage = checkBoolean("goldenImage", raw.goldenImage, false, problems);
  if (goldenImage && kubernetesVersion && !isExactVersion(kubernetesVersion)) {
    problems.push(
      `${NS}:goldenImage true needs an exact ${NS}:kubernetesVersion (the golden image is named by it), got ` +
        `${show(kubernetesVersion)}; set e.g. "${kubernetesVersion}.0" (an existing patch) or goldenImage false`,
    );
  }
  const allowDataLoss = checkBoolean("allowDataLoss", raw.allowDataLoss, false, problems);
  return {
    kubernetesVersion,
    ciliumVersion,
    baseImage,
    sshUser,
    vmNet,
    softnetAllow,
    ipWaitSeconds,
    goldenImage,
    allowDataLoss,
  };
}

/** The clusters' shape (zod); undefined when it is missing or wrong, so the rules below never see a bad shape. */
function checkClustersShape(raw: unknown, f: Findings): ClusterShape[] | undefined {
  if (raw === undefined) {
    f.problems.push(
      `${NS}:clusters is not set; copy the clusters block of Pulumi.dev.yaml into your stack file`,
    );
    return undefined;
  }
  const schema = z.array(clusterSchema).min(1, { error: "must list at least one cluster" });
  return parseWith("clusters", schema, raw, f.problems);
}

/** How messages name a cluster and a node: by their names, which the user wrote, not by list positions. */
const clusterAt = (name: unknown, index: number) =>
  typeof name === "string" && name !== "" ? `cluster ${show(name)}` : `cluster #${index + 1}`;
const nodeAt = (name: unknown, index: number) =>
  typeof name === "string" && name !== "" ? `node ${show(name)}` : `node #${index + 1}`;

function draft(shape: ClusterShape, index: number, f: Findings): Draft {
  const at = clusterAt(shape.name, index);
  return {
    shape,
    at,
    id: shape.id ?? clusterIdFromName(shape.name),
    pod: checkCidr(`${at} podCidr`, shape.podCidr, f.problems),
    svc: checkCidr(`${at} serviceCidr`, shape.serviceCidr, f.problems),
    controlPlanes: shape.nodes.filter((n) => n.role === "control-plane"),
  };
}

/** Cilium's cluster.name: a DNS label of at most 32 characters, not "default" (reserved for cluster id 0). */
function clusterNamesValidAndUnique(drafts: readonly Draft[], f: Findings): void {
  const seen = new Map<string, number>();
  drafts.forEach(({ shape: c }, i) => {
    checkName(`${clusterAt(undefined, i)} name`, c.name, 32, f.problems);
    if (c.name === "default")
      f.problems.push(`cluster name "default" is reserved by Cilium; pick another name`);
    const prev = seen.get(c.name);
    if (prev !== undefined) {
      f.problems.push(
        `clusters #${prev + 1} and #${i + 1} are both named ${show(c.name)}; cluster names must be unique`,
      );
    } else seen.set(c.name, i);
  });
}

function clusterIdsUnique(drafts: readonly Draft[], f: Findings): void {
  const how = (d: Draft) => (d.shape.id !== undefined ? "set explicitly" : "derived from its name");
  const seen = new Map<number, Draft>();
  for (const d of drafts) {
    const prev = seen.get(d.id);
    // A duplicate name derives a duplicate id; the name rule already says what to fix.
    if (prev !== undefined && (d.shape.id !== undefined || prev.shape.name !== d.shape.name)) {
      f.problems.push(
        `${d.at} id ${d.id} (${how(d)}) is already the Cilium cluster id of ${prev.at} (${how(prev)}); ` +
          `give ${d.at} an explicit id between 1 and 255 that no other cluster has`,
      );
    } else if (prev === undefined) seen.set(d.id, d);
  }
}

function oneControlPlaneEach(drafts: readonly Draft[], f: Findings): void {
  for (const { at, controlPlanes } of drafts) {
    if (controlPlanes.length === 1) continue;
    f.problems.push(
      `${at} has ${controlPlanes.length} control-plane nodes (${controlPlanes.map((n) => n.name).join(", ") || "none"}); ` +
        `exactly one node must have role "control-plane"`,
    );
  }
}

/** VM names double as hostnames and Kubernetes node names; Tart's namespace is global to the Mac. */
function nodeNamesValidAndUnique(drafts: readonly Draft[], f: Findings): void {
  const seen = new Map<string, string>();
  for (const { at, shape } of drafts) {
    for (const n of shape.nodes) {
      checkName(`${at} node name`, n.name, 63, f.problems);
      const other = seen.get(n.name);
      if (other !== undefined) {
        f.problems.push(
          `${at} node name ${show(n.name)} is already used in ${other}; VM names must be unique across clusters`,
        );
      } else seen.set(n.name, at);
    }
  }
}

function rangesSized(drafts: readonly Draft[], f: Findings): void {
  for (const { at, pod, svc, shape } of drafts) {
    // Cilium cluster-pool hands each node a /24 out of the pod CIDR.
    if (pod && (pod.range[1] > 24 || 2 ** (24 - pod.range[1]) < shape.nodes.length)) {
      f.problems.push(
        `${at} podCidr ${show(pod.text)} is too small: each of the ${shape.nodes.length} nodes gets a /24; use a /16`,
      );
    }
    // kube-apiserver refuses service ranges larger than /12 (IPv4).
    if (svc && (svc.range[1] < 12 || svc.range[1] > 28)) {
      f.problems.push(
        `${at} serviceCidr ${show(svc.text)} must have a prefix between /12 and /28; use a /16`,
      );
    }
  }
}

/** Pod and service ranges overlap neither each other nor the VM network, across every cluster. */
function rangesApart(drafts: readonly Draft[], vmNet: ParsedCidr | undefined, f: Findings): void {
  const ranges: ParsedCidr[] = vmNet ? [vmNet] : [];
  for (const r of drafts.flatMap((d) => [d.pod, d.svc])) {
    if (!r) continue;
    for (const other of ranges) {
      if (cidrsOverlap(r, other)) {
        f.problems.push(
          `${r.key} ${r.text} overlaps ${other.key} ${other.text}; ` +
            (other === vmNet
              ? "cluster ranges must stay clear of the VM network (pick e.g. 10.x.0.0/16)"
              : "give each cluster its own pod and service ranges (e.g. 10.10.0.0/16 and 10.96.0.0/16)"),
        );
      }
    }
    ranges.push(r);
  }
}

/** Each cluster's own kubernetesVersion, checked; a golden image is baked per exact version, so it must be exact. */
function clusterVersions(drafts: readonly Draft[], lab: Scalars, f: Findings): (string | undefined)[] {
  return drafts.map(({ at, shape }) => {
    if (shape.kubernetesVersion === undefined) return undefined;
    const key = `${at} kubernetesVersion`;
    const own = checkKubernetes(key, shape.kubernetesVersion, f.problems, f.warnings);
    if (lab.goldenImage && own && !isExactVersion(own)) {
      f.problems.push(
        `${NS}:goldenImage true needs an exact ${key} (its nodes clone a golden image named by it), ` +
          `got ${show(own)}; set e.g. "${own}.0" (an existing patch) or goldenImage false`,
      );
    }
    return own;
  });
}

function spec(d: Draft, own: string | undefined, lab: Scalars): ClusterSpec {
  const c = d.shape;
  return {
    name: c.name,
    kubernetesVersion: own ?? lab.kubernetesVersion ?? VERSIONS.kubernetes,
    kubernetesVersionKey: own === undefined ? `${NS}:kubernetesVersion` : `${d.at} kubernetesVersion`,
    id: d.id,
    podCidr: c.podCidr,
    serviceCidr: c.serviceCidr,
    // Control plane first: a stable, readable order everywhere (plan output, stack outputs).
    nodes: [...d.controlPlanes, ...c.nodes.filter((n) => n.role !== "control-plane")],
  };
}

function checkJenkins(
  raw: z.infer<typeof jenkinsSchema>,
  clusters: readonly ClusterSpec[] | undefined,
  f: Findings,
): JenkinsSpec {
  const jenkins: JenkinsSpec = {
    enabled: raw.enabled ?? true,
    cluster: raw.cluster ?? "platform",
    nodePort: raw.nodePort ?? 32080,
    retainData: raw.retainData ?? false,
  };
  if (jenkins.enabled && clusters && !clusters.some((c) => c.name === jenkins.cluster)) {
    f.problems.push(
      `${NS}:jenkins.cluster ${show(jenkins.cluster)} is not one of the clusters (${clusters.map((c) => c.name).join(", ")}); ` +
        `name an existing cluster or set ${NS}:jenkins.enabled false`,
    );
  }
  return jenkins;
}

function checkKubeconfig(
  raw: z.infer<typeof kubeconfigSchema>,
  clusters: readonly ClusterSpec[] | undefined,
  problems: string[],
): KubeconfigSpec {
  const spec: KubeconfigSpec = { merge: raw.merge ?? true, currentContext: raw.currentContext };
  const key = `${NS}:kubeconfig.currentContext`;
  if (spec.currentContext === undefined) return spec;
  if (!spec.merge) {
    problems.push(
      `${key} ${show(spec.currentContext)} needs ${NS}:kubeconfig.merge true (contexts are not merged into your ` +
        `kubeconfig, so none can become current); remove one of the two keys`,
    );
  } else if (clusters && !clusters.some((c) => c.name === spec.currentContext)) {
    problems.push(
      `${key} ${show(spec.currentContext)} is not one of the clusters (${clusters.map((c) => c.name).join(", ")}); ` +
        `name a cluster (its context is tartlab-<cluster>) or remove the key to leave the current context alone`,
    );
  }
  return spec;
}

/**
 * The Cilium cluster id a cluster gets when its `id` is not set: a hash of its name into Cilium's valid range
 * 1..255 (chart values.yaml `cluster.id`: "Must be unique across all connected clusters and in the range of 1 to
 * 255"). Depends on the name only, so other clusters coming, going or moving never change it.
 */
export function clusterIdFromName(name: string): number {
  return (createHash("sha256").update(name).digest().readUInt32BE(0) % 255) + 1;
}

/** All nodes of the lab with their cluster, in config order. */
export function allNodes(config: LabConfig): { cluster: ClusterSpec; node: NodeSpec }[] {
  return config.clusters.flatMap((cluster) => cluster.nodes.map((node) => ({ cluster, node })));
}
