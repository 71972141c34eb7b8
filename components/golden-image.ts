import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { versionEnv } from "../lib/kube-version";
import { GOLDEN_PREFIX } from "../lib/node-image";
import { loadScript, scriptCommand } from "../lib/shell";
import { PREPULL_IMAGES, VERSIONS } from "../lib/versions";

/** Everything that goes into a golden image; its name is a digest of all of it. */
export interface GoldenImageInputs {
  readonly baseImage: string;
  /** Exact Kubernetes version ("1.35.2"); validation requires it when the golden image is on. */
  readonly kubernetesVersion: string;
  readonly ciliumVersion: string;
  readonly jenkinsChart: string;
  readonly localPathProvisioner: string;
  /** Images pre-pulled besides kubeadm's own (which follow from kubernetesVersion). */
  readonly images: readonly string[];
  /** Texts of the scripts that run in the image: node preparation, pull, clean, and the bake itself. */
  readonly scripts: Readonly<Record<string, string>>;
}

/** The scripts a bake runs, by path under scripts/. */
const GOLDEN_SCRIPTS = [
  "golden-image/bake.sh",
  "k8s-node/prepare.sh",
  "golden-image/pull.sh",
  "golden-image/clean.sh",
] as const;

/** The inputs of the lab's golden image: the config's pins and the pre-pull list of lib/versions.ts. */
export function goldenImageInputs(config: {
  baseImage: string;
  kubernetesVersion: string;
  ciliumVersion: string;
}): GoldenImageInputs {
  return {
    baseImage: config.baseImage,
    kubernetesVersion: config.kubernetesVersion,
    ciliumVersion: config.ciliumVersion,
    jenkinsChart: VERSIONS.jenkinsChart,
    localPathProvisioner: VERSIONS.localPathProvisioner,
    images: [...PREPULL_IMAGES.cilium, ...PREPULL_IMAGES.localPath, ...PREPULL_IMAGES.jenkins],
    scripts: Object.fromEntries(GOLDEN_SCRIPTS.map((s) => [s, loadScript(s)])),
  };
}

/**
 * The Tart VM name: prefix + Kubernetes version + a digest of every input. Same inputs, same name (reused across
 * `up`s and stacks); any changed input, a new name, so node clones made from the old one are never touched.
 */
export function goldenImageName(inputs: GoldenImageInputs): string {
  const canonical = JSON.stringify([
    inputs.baseImage,
    inputs.kubernetesVersion,
    inputs.ciliumVersion,
    inputs.jenkinsChart,
    inputs.localPathProvisioner,
    inputs.images,
    Object.entries(inputs.scripts).sort(([a], [b]) => a.localeCompare(b)),
  ]);
  const digest = createHash("sha256").update(canonical).digest("hex").slice(0, 16);
  return `${GOLDEN_PREFIX}${inputs.kubernetesVersion.replace(/\./g, "-")}-${digest}`;
}

/**
 * The golden node image: one local Tart VM, baked once by scripts/golden-image/bake.sh, that node VMs
 * clone (APFS copy-on-write) instead of installing packages and pulling images each. It is shared by every stack
 * on the Mac and outlives this one: it has no delete action; `npm run images -- prune` removes unused ones.
 */
export class GoldenImage extends pulumi.ComponentResource {
  /** The Tart VM name to clone; known once the bake succeeded, so clones depend on it. */
  public readonly name: pulumi.Output<string>;

  constructor(name: string, inputs: GoldenImageInputs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:GoldenImage", name, {}, opts);
    const vmName = goldenImageName(inputs);
    const bake = new command.local.Command(
      name,
      {
        ...scriptCommand({
          create: "golden-image/bake.sh",
          env: {
            GOLDEN_NAME: vmName,
            BASE_IMAGE: inputs.baseImage,
            ...versionEnv(inputs.kubernetesVersion),
            IMAGES: inputs.images.join("\n"),
            PREPARE_SH: inputs.scripts["k8s-node/prepare.sh"],
            PULL_SH: inputs.scripts["golden-image/pull.sh"],
            CLEAN_SH: inputs.scripts["golden-image/clean.sh"],
          },
        }),
        // A new name is a new image: bake it (the old one stays for the clones made from it).
        triggers: [vmName],
      },
      { parent: this, deleteBeforeReplace: false },
    );
    this.name = bake.stdout.apply(() => vmName);
    this.registerOutputs({ name: this.name });
  }
}
