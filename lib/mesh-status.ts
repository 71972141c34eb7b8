/** The ClusterMesh part of the lab status (mac/status.ts reads it; `tartlab status` and the dashboard show it). */

/** One cluster's view of a meshed peer: connected, not connected, or unknown when it cannot be asked. */
export type MeshState = "connected" | "not connected" | "unknown";

/** What cluster `from`'s KVStoreMesh says of peer `to` (its remote cluster readiness metric). */
export interface MeshLink {
  readonly from: string;
  readonly to: string;
  readonly state: MeshState;
  /** Why it is not connected, or why it is unknown. */
  readonly detail?: string;
}

export interface MeshPair {
  /** The two clusters, in config order. */
  readonly clusters: readonly [string, string];
  /** Connected when each side reports the other ready; unknown when a side cannot be asked. */
  readonly state: MeshState;
  /** Each side's view of the other. */
  readonly links: readonly [MeshLink, MeshLink];
}

export interface MeshStatus {
  readonly pairs: readonly MeshPair[];
  readonly healthy: boolean;
}

/** KVStoreMesh's view of each remote cluster: 1 ready, 0 not (pkg/clustermesh/common in Cilium). */
const MESH_READINESS_METRIC = "cilium_kvstoremesh_remote_cluster_readiness_status";

/** The readiness metric's value by target cluster, from Prometheus' text format. */
export function meshReadiness(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (m?.[1] !== MESH_READINESS_METRIC) continue;
    const target = /(?:^|,)\s*target_cluster="([^"]*)"/.exec(m[2]);
    if (target) out.set(target[1], Number(m[3]));
  }
  return out;
}

/** Each pair of meshed clusters from both sides' views: unknown first, then not connected, else connected. */
export function meshPairs(mesh: readonly string[], links: readonly MeshLink[]): MeshStatus {
  const link = (from: string, to: string): MeshLink =>
    links.find((l) => l.from === from && l.to === to) ?? { from, to, state: "unknown", detail: "not asked" };
  const pairs = mesh.flatMap((a, i) =>
    mesh.slice(i + 1).map((b): MeshPair => {
      const both = [link(a, b), link(b, a)] as const;
      const state: MeshState = both.some((l) => l.state === "unknown")
        ? "unknown"
        : both.some((l) => l.state === "not connected")
          ? "not connected"
          : "connected";
      return { clusters: [a, b], state, links: both };
    }),
  );
  return { pairs, healthy: pairs.every((p) => p.state === "connected") };
}
