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
   * string). Changing it upgrades that cluster alone (components/kubeadm-cluster.ts, lib/cluster-record.ts).
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
  /** Value of `tart run --net-softnet-allow`; 0.0.0.0/0 is what lifts VM-to-VM isolation. */
  readonly softnetAllow: string;
  /** Seconds `tart ip --wait` waits for a DHCP lease before the VM counts as failed. */
  readonly ipWaitSeconds: number;
  /**
   * Clone node VMs from a golden image baked once (components/golden-image.ts: packages, containerd, images)
   * instead of preparing every node; needs an exact kubernetesVersion ("1.35.2"): the image is named by it.
   */
  readonly goldenImage: boolean;
  readonly clusters: readonly ClusterSpec[];
  readonly jenkins: JenkinsSpec;
  /**
   * The user accepts that removing a node deletes the local-path volumes on it (lib/data-guard.ts refuses
   * otherwise). Meant for one `pulumi up`, then unset.
   */
  readonly allowDataLoss: boolean;
  readonly kubeconfig: KubeconfigSpec;
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

const int = (min: number, max: number, unit: string) =>
  z
    .number({ error: (i) => `must be a number (${unit}), got ${show(i.input)}` })
    .int({ error: (i) => `must be a whole number of ${unit}, got ${show(i.input)}` })
    .min(min, { error: (i) => `${show(i.input)} is below the minimum ${min} ${unit}` })
    .max(max, { error: (i) => `${show(i.input)} is above the maximum ${max} ${unit}` });

const nodeSchema = z.strictObject({
  name: z.string(),
  role: z.enum(["control-plane", "worker"], {
    error: (i) => `must be "control-plane" or "worker", got ${show(i.input)}`,
  }),
  // kubeadm preflight: a control plane needs >= 2 CPUs and >= 1700 MB; Tart disks only grow from the
  // image's 20 GB (`tart set --disk-size` is increase-only).
  cpus: int(2, 32, "CPUs"),
  memoryMb: int(2048, 131072, "MB"),
  diskGb: int(20, 2000, "GB"),
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

function keyOf(path: readonly PropertyKey[]): string {
  let s = `${NS}:${String(path[0])}`;
  for (const p of path.slice(1)) s += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return s;
}

function zodProblems(key: string, err: z.ZodError): string[] {
  return err.issues.map((i) => {
    const where = keyOf([key, ...i.path]);
    if (i.code === "unrecognized_keys") {
      return `${where} has unknown key(s) ${i.keys.join(", ")}; check the spelling against README "Configuration"`;
    }
    return `${where} ${i.message}`;
  });
}

function parseWith<T>(key: string, schema: z.ZodType<T>, raw: unknown, problems: string[]): T | undefined {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  problems.push(...zodProblems(key, r.error));
  return undefined;
}

/**
 * V02: versions are strings. A YAML number such as 1.30 reaches us as the number 1.3 (or the string "1.3");
 * both are refused with the hint to quote, never silently used.
 */
function checkVersion(key: string, raw: unknown, problems: string[]): string | undefined {
  if (typeof raw === "number") {
    problems.push(
      `${key} is the number ${raw}, not a string; YAML turns 1.30 into 1.3. Quote it: ${key}: "${raw}" ` +
        `(pulumi config set ${key} -- "<version>" stores a string)`,
    );
    return undefined;
  }
  if (typeof raw !== "string" || !VERSION_RE.test(raw)) {
    problems.push(`${key} ${show(raw)} is not a version of the form "1.31" or "1.31.4"`);
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

/** Validates raw stack config; throws LabConfigError listing every problem, each with key, value and fix. */
export function validateLabConfig(raw: RawConfig): ValidatedConfig {
  const problems: string[] = [];
  const warnings: string[] = [];

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

  // Booleans arrive as strings from the CLI ("true") or as booleans from tests.
  const goldenRaw = raw.goldenImage ?? false;
  const goldenImage = goldenRaw === true || goldenRaw === "true";
  if (!goldenImage && goldenRaw !== false && goldenRaw !== "false") {
    problems.push(`${NS}:goldenImage must be true or false, got ${show(goldenRaw)}`);
  }
  if (goldenImage && kubernetesVersion && !isExactVersion(kubernetesVersion)) {
    problems.push(
      `${NS}:goldenImage true needs an exact ${NS}:kubernetesVersion (the golden image is named by it), got ` +
        `${show(kubernetesVersion)}; set e.g. "${kubernetesVersion}.0" (an existing patch) or goldenImage false`,
    );
  }

  if (raw.clusters === undefined) {
    problems.push(
      `${NS}:clusters is not set; copy the clusters block of Pulumi.dev.yaml into your stack file`,
    );
  }
  const clustersRaw =
    raw.clusters === undefined
      ? undefined
      : parseWith(
          "clusters",
          z.array(clusterSchema).min(1, { error: "must list at least one cluster" }),
          raw.clusters,
          problems,
        );
  const jenkinsRaw = parseWith("jenkins", jenkinsSchema, raw.jenkins ?? {}, problems) ?? {};
  const allowDataLoss = checkBoolean("allowDataLoss", raw.allowDataLoss, false, problems);
  const kubeconfigRaw = parseWith("kubeconfig", kubeconfigSchema, raw.kubeconfig ?? {}, problems) ?? {};

  const clusters: ClusterSpec[] = [];
  if (clustersRaw) {
    const clusterNames = new Map<string, number>();
    const nodeNames = new Map<string, string>();
    const ids = new Map<number, number>();
    const ranges: ParsedCidr[] = vmNet ? [vmNet] : [];
    clustersRaw.forEach((c, ci) => {
      const ck = `${NS}:clusters[${ci}]`;
      // Cilium cluster.name: <= 32 chars, and "default" is reserved for cluster id 0.
      checkName(`${ck}.name`, c.name, 32, problems);
      if (c.name === "default")
        problems.push(`${ck}.name "default" is reserved by Cilium; pick another name`);
      const prev = clusterNames.get(c.name);
      if (prev !== undefined) {
        problems.push(
          `${ck}.name ${show(c.name)} is already used by ${NS}:clusters[${prev}]; names must be unique`,
        );
      } else clusterNames.set(c.name, ci);

      const id = c.id ?? clusterIdFromName(c.name);
      const how = (explicit: boolean, name: string) =>
        explicit ? "set explicitly" : `derived from the name ${show(name)}`;
      const prevId = ids.get(id);
      // A duplicate name derives a duplicate id; the name problem above already says what to fix.
      if (prevId !== undefined && (c.id !== undefined || clustersRaw[prevId].name !== c.name)) {
        const prev = clustersRaw[prevId];
        problems.push(
          `${ck}.id ${id} (${how(c.id !== undefined, c.name)}) is already the Cilium cluster id of ` +
            `${NS}:clusters[${prevId}] ${show(prev.name)} (${how(prev.id !== undefined, prev.name)}); ` +
            `set ${ck}.id explicitly to an unused id between 1 and 255`,
        );
      } else if (prevId === undefined) ids.set(id, ci);

      const controlPlanes = c.nodes.filter((n) => n.role === "control-plane");
      if (controlPlanes.length !== 1) {
        problems.push(
          `${ck} ${show(c.name)} has ${controlPlanes.length} control-plane nodes (${controlPlanes.map((n) => n.name).join(", ") || "none"}); ` +
            `exactly one node must have role "control-plane"`,
        );
      }
      c.nodes.forEach((n, ni) => {
        const nk = `${ck}.nodes[${ni}].name`;
        // VM names double as hostnames and Kubernetes node names; Tart's namespace is global to the Mac.
        checkName(nk, n.name, 63, problems);
        const other = nodeNames.get(n.name);
        if (other !== undefined) {
          problems.push(
            `${nk} ${show(n.name)} is already used by ${other}; VM names must be unique across clusters`,
          );
        } else nodeNames.set(n.name, nk);
      });

      const pod = checkCidr(`${ck}.podCidr`, c.podCidr, problems);
      const svc = checkCidr(`${ck}.serviceCidr`, c.serviceCidr, problems);
      if (pod) {
        // Cilium cluster-pool hands each node a /24 out of the pod CIDR.
        const bits = pod.range[1];
        if (bits > 24 || 2 ** (24 - bits) < c.nodes.length) {
          problems.push(
            `${ck}.podCidr ${show(pod.text)} is too small: each of the ${c.nodes.length} nodes gets a /24; use a /16`,
          );
        }
      }
      if (svc) {
        const bits = svc.range[1];
        // kube-apiserver refuses service ranges larger than /12 (IPv4).
        if (bits < 12 || bits > 28) {
          problems.push(
            `${ck}.serviceCidr ${show(svc.text)} must have a prefix between /12 and /28; use a /16`,
          );
        }
      }
      for (const r of [pod, svc]) {
        if (!r) continue;
        for (const other of ranges) {
          if (cidrsOverlap(r, other)) {
            const isVmNet = other === vmNet;
            problems.push(
              `${r.key} ${r.text} overlaps ${other.key} ${other.text}; ` +
                (isVmNet
                  ? "cluster ranges must stay clear of the VM network (pick e.g. 10.x.0.0/16)"
                  : "give each cluster its own pod and service ranges (e.g. 10.10.0.0/16 and 10.96.0.0/16)"),
            );
          }
        }
        ranges.push(r);
      }

      const ownVersion =
        c.kubernetesVersion === undefined
          ? undefined
          : checkKubernetes(`${ck}.kubernetesVersion`, c.kubernetesVersion, problems, warnings);
      // Its nodes clone the golden image of their own version (lib/node-image.ts), named by it.
      if (goldenImage && ownVersion && !isExactVersion(ownVersion)) {
        problems.push(
          `${NS}:goldenImage true needs an exact ${ck}.kubernetesVersion (its nodes clone a golden image named by ` +
            `it), got ${show(ownVersion)}; set e.g. "${ownVersion}.0" (an existing patch) or goldenImage false`,
        );
      }
      clusters.push({
        name: c.name,
        kubernetesVersion: ownVersion ?? kubernetesVersion ?? VERSIONS.kubernetes,
        kubernetesVersionKey:
          ownVersion === undefined ? `${NS}:kubernetesVersion` : `${ck}.kubernetesVersion`,
        id,
        podCidr: c.podCidr,
        serviceCidr: c.serviceCidr,
        // Control plane first: a stable, readable order everywhere (plan output, stack outputs).
        nodes: [...controlPlanes, ...c.nodes.filter((n) => n.role !== "control-plane")],
      });
    });
  }

  const jenkins: JenkinsSpec = {
    enabled: jenkinsRaw.enabled ?? true,
    cluster: jenkinsRaw.cluster ?? "platform",
    nodePort: jenkinsRaw.nodePort ?? 32080,
    retainData: jenkinsRaw.retainData ?? false,
  };
  if (jenkins.enabled && clustersRaw && !clusters.some((c) => c.name === jenkins.cluster)) {
    problems.push(
      `${NS}:jenkins.cluster ${show(jenkins.cluster)} is not one of the clusters (${clusters.map((c) => c.name).join(", ")}); ` +
        `name an existing cluster or set ${NS}:jenkins.enabled false`,
    );
  }

  const kubeconfig = checkKubeconfig(kubeconfigRaw, clustersRaw && clusters, problems);
  if (ciliumVersion !== undefined && kubernetesVersion !== undefined) {
    checkCiliumKubernetes(
      ciliumVersion,
      [
        { key: `${NS}:kubernetesVersion`, version: kubernetesVersion },
        ...clusters
          .filter((c) => c.kubernetesVersionKey !== `${NS}:kubernetesVersion`)
          .map((c) => ({ key: c.kubernetesVersionKey, version: c.kubernetesVersion })),
      ],
      problems,
      warnings,
    );
  }

  if (problems.length > 0) throw new LabConfigError(problems);
  return {
    config: {
      kubernetesVersion: kubernetesVersion!,
      ciliumVersion: ciliumVersion!,
      baseImage,
      sshUser,
      vmNetworkCidr: vmNet!.text,
      softnetAllow,
      ipWaitSeconds,
      goldenImage,
      clusters,
      jenkins,
      allowDataLoss,
      kubeconfig,
    },
    warnings,
  };
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
