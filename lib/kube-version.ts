/**
 * V02: versions stay strings, a minor ("1.35", apt's newest patch) or an exact patch ("1.35.2"), and this is
 * the one place that takes them apart.
 */

/** Any major: the config check refuses a major other than 1 with its own message. */
export const VERSION_RE = /^\d+\.\d+(\.\d+)?$/;

export interface KubeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch?: number;
}

/** The caller has validated it. */
export function parseVersion(v: string): KubeVersion {
  const [major, minor, patch] = v.split(".").map(Number);
  return { major, minor, patch };
}

export const minorOf = (v: string) => parseVersion(v).minor;
export const patchOf = (v: string) => parseVersion(v).patch;

/** The minor line, as pkgs.k8s.io and Cilium's compatibility table name it. */
export function minorLine(v: string): string {
  const { major, minor } = parseVersion(v);
  return `${major}.${minor}`;
}

/** A golden image is baked for one exact version, and apt pins `=1.35.2-*`. */
export const isExactVersion = (v: string) => /^\d+\.\d+\.\d+$/.test(v);

/** A bare minor compares equal to every patch of it, since only the node knows its newest patch. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  if (x.minor !== y.minor) return x.minor - y.minor;
  return x.patch === undefined || y.patch === undefined ? 0 : x.patch - y.patch;
}

export function versionEnv(v: string): { K8S_MINOR: string; K8S_PATCH: string } {
  return { K8S_MINOR: minorLine(v), K8S_PATCH: isExactVersion(v) ? v : "" };
}
