/**
 * What each node VM is cloned from. An existing VM keeps the image its cluster record says it was cloned from, so
 * a new golden image (a Cilium, chart, script or Kubernetes patch change digests into its name) or switching
 * `goldenImage` on or off never clones it again: it is upgraded in place exactly as without the golden image, and
 * only new VMs clone the newest image. A new `baseImage` is the one change that clones every VM again (README
 * "Changing a lab": a rebuild). A golden image is baked per Kubernetes version, the node's own (a cluster with its
 * own `kubernetesVersion`, a node added after an upgrade), so a clone always runs the version its steps verify.
 * Pure: the golden image's name comes in as a function (components/golden-image.ts).
 */
import { ClusterRecord } from "./cluster-record-format";
import { isExactVersion } from "./kube-version";
import { LabConfig } from "./lab-config";

/** Prefix of every golden image's Tart VM name (`npm run images` lists them by it). */
export const GOLDEN_PREFIX = "tartlab-golden-";

export interface NodeImage {
  /** What the VM is cloned from: the base image or a golden image's Tart VM name. */
  readonly image: string;
  /** When `image` is the golden image this run's inputs name for a Kubernetes version: that version (to bake). */
  readonly bake?: string;
  /** The VM exists (recorded) and this run clones it again: its clone's trigger, the image, changes. */
  readonly recloned: boolean;
}

/**
 * The image of `node` (prepared at `version`, lib/cluster-record-rules.ts `nodeVersion`): the recorded one while the
 * lab's base image is the one it was recorded with, else the newest: the golden image of the node's version when
 * the golden image is on and that version is exact, else the base image.
 */
export function nodeImage(
  config: Pick<LabConfig, "baseImage" | "goldenImage">,
  node: string,
  version: string,
  record: ClusterRecord | undefined,
  goldenName: (version: string) => string,
): NodeImage {
  const golden = config.goldenImage && isExactVersion(version) ? goldenName(version) : undefined;
  const bakeFor = (image: string) => (image === golden ? version : undefined);
  const recorded = record?.images?.[node];
  if (recorded !== undefined && record?.baseImage === config.baseImage) {
    return { image: recorded, bake: bakeFor(recorded), recloned: false };
  }
  const image = golden ?? config.baseImage;
  return { image, bake: bakeFor(image), recloned: recorded !== undefined && recorded !== image };
}
