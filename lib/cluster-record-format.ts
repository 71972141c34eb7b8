/**
 * The cluster version record (~/.tartlab/clusters/<cluster>.json): one pure parser shared by data-guard,
 * node-image and the components.
 */
import { VERSION_RE, parseVersion } from "./kube-version";

export interface ClusterRecord {
  /** "1.35" or "1.35.2", as its last init or upgrade reached it. */
  readonly kubernetesVersion: string;
  /** Node steps never rerun for a version change, so each keeps the version it was created with. */
  readonly nodes: Readonly<Record<string, string>>;
  /** Absent in older records. */
  readonly baseImage?: string;
  /**
   * The base or golden image's VM name, kept by an existing VM (lib/node-image.ts); absent in older records.
   */
  readonly images?: Readonly<Record<string, string>>;
  /** kubeadm never changes them after init; absent in older records. */
  readonly podCidr?: string;
  readonly serviceCidr?: string;
  /** A bare minor resolved at the first build, which a node added later installs; absent in older records. */
  readonly patch?: string;
}

export type ClusterRecords = Readonly<Record<string, ClusterRecord | undefined>>;

const isRecordedVersion = (v: unknown): v is string =>
  typeof v === "string" && VERSION_RE.test(v) && parseVersion(v).major === 1;

/** A malformed record is an error naming the file and the fix, never ignored. */
export function parseClusterRecord(text: string, file: string): ClusterRecord {
  const fail = (why: string): never => {
    throw new Error(
      `${file} is not a tartlab cluster record (${why}); it is written by pulumi up. Restore it or delete it ` +
        `(then the version in the stack config is taken as the version the cluster runs)`,
    );
  };
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("not JSON");
  }
  if (!isRecordedVersion(raw?.kubernetesVersion))
    fail(`kubernetesVersion ${JSON.stringify(raw?.kubernetesVersion)} is not a version string`);
  const nodes = raw.nodes;
  if (nodes === null || typeof nodes !== "object" || Array.isArray(nodes)) fail("nodes is not an object");
  for (const [n, v] of Object.entries(nodes)) {
    if (!isRecordedVersion(v)) fail(`nodes.${n} ${JSON.stringify(v)} is not a version string`);
  }
  const record: { -readonly [K in keyof ClusterRecord]: ClusterRecord[K] } = {
    kubernetesVersion: raw.kubernetesVersion,
    nodes: nodes as Record<string, string>,
  };
  if (raw.baseImage !== undefined) {
    if (typeof raw.baseImage !== "string" || raw.baseImage === "")
      fail(`baseImage ${JSON.stringify(raw.baseImage)} is not an image name`);
    record.baseImage = raw.baseImage;
  }
  if (raw.images !== undefined) {
    const images = raw.images;
    if (images === null || typeof images !== "object" || Array.isArray(images))
      fail("images is not an object");
    for (const [n, v] of Object.entries(images)) {
      if (typeof v !== "string" || v === "") fail(`images.${n} ${JSON.stringify(v)} is not an image name`);
    }
    record.images = images as Record<string, string>;
  }
  if (raw.patch !== undefined) {
    if (typeof raw.patch !== "string" || !/^1\.\d+\.\d+$/.test(raw.patch))
      fail(`patch ${JSON.stringify(raw.patch)} is not an exact version`);
    record.patch = raw.patch;
  }
  for (const key of ["podCidr", "serviceCidr"] as const) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== "string" || !/^[\d.]+\/\d+$/.test(raw[key]))
      fail(`${key} ${JSON.stringify(raw[key])} is not a CIDR`);
    record[key] = raw[key];
  }
  return record;
}
