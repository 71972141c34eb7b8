/**
 * An existing VM keeps its recorded image, so a new golden image or toggling `goldenImage` never re-clones it
 * (it is upgraded in place) and only a new `baseImage` rebuilds every VM; golden images are baked per node
 * version, so a clone always runs the version its steps verify.
 */
import { ClusterRecord } from "./cluster-record-format";
import { isExactVersion } from "./kube-version";
import { LabConfig } from "./lab-config";

/** `npm run images` lists golden images by it. */
export const GOLDEN_PREFIX = "tartlab-golden-";

export interface NodeImage {
  readonly image: string;
  /** The Kubernetes version to bake, when `image` is this run's golden image. */
  readonly bake?: string;
  /** Its clone's trigger, the image, changes. */
  readonly recloned: boolean;
}

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
