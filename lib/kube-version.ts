/**
 * The Kubernetes version string as tartlab writes it: a minor ("1.35": apt installs that minor's newest patch) or an
 * exact patch ("1.35.2"). V02: versions stay strings; this is the one place that takes them apart.
 */

/** "1.35" or "1.35.2", any major (the config check refuses a major other than 1 with its own message). */
export const VERSION_RE = /^\d+\.\d+(\.\d+)?$/;

export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  /** Undefined for a bare minor ("1.35"). */
  readonly patch?: number;
}

/** Splits a version matched by VERSION_RE; the caller has validated it. */
export function parseVersion(v: string): KubeVersion {
  const [major, minor, patch] = v.split(".").map(Number);
  return { major, minor, patch };
}

export const minorOf = (v: string) => parseVersion(v).minor;
export const patchOf = (v: string) => parseVersion(v).patch;

/** "1.35" for "1.35" and "1.35.2": the minor line, as pkgs.k8s.io and Cilium's compatibility table name it. */
export function minorLine(v: string): string {
  const { major, minor } = parseVersion(v);
  return `${major}.${minor}`;
}

/** "1.35.2", not "1.35": a golden image is baked for one exact version, and apt pins `=1.35.2-*`. */
export const isExactVersion = (v: string) => /^\d+\.\d+\.\d+$/.test(v);

/**
 * Orders two versions of one major by minor, then by patch; a bare minor compares equal to every patch of it
 * (it means "that minor's newest patch", which only the node knows).
 */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  if (x.minor !== y.minor) return x.minor - y.minor;
  return x.patch === undefined || y.patch === undefined ? 0 : x.patch - y.patch;
}

/** The inputs of the scripts that install Kubernetes packages: the apt repository's minor, and the pin if exact. */
export function versionEnv(v: string): { K8S_MINOR: string; K8S_PATCH: string } {
  return { K8S_MINOR: minorLine(v), K8S_PATCH: isExactVersion(v) ? v : "" };
}
