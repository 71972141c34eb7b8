/**
 * Every external version tartlab uses, in one place, each with its source (versions are strings).
 * npm packages are pinned exactly in package.json / package-lock.json (notably @pulumi/command 1.2.1:
 * npm's `latest` 4.5.0 is a stale publish without `logging`).
 */
export const VERSIONS = {
  /**
   * Default Kubernetes minor: the newest that the default Cilium's docs list as e2e tested (see
   * CILIUM_TESTED_KUBERNETES). 1.35 is maintained until 2027-02-28 (https://kubernetes.io/releases/1.35/).
   */
  kubernetes: "1.35",
  /**
   * Cilium Helm chart (https://helm.cilium.io): newest 1.19 patch in the upstream README's stable table
   * (Oct 2026). 1.20 is newer, but its Kubernetes compatibility list could not be read from here.
   */
  cilium: "1.19.8",
  /**
   * Helm that test/cilium-render.test.ts renders the Cilium chart with (tools/helm.sh builds it from its Go module):
   * the helm.sh/helm/v3 that @pulumi/kubernetes' provider requires, whose embedded Helm runs helm.v3.Release. Read
   * from github.com/pulumi/pulumi-kubernetes provider/go.mod at tags v4.30.0 to v4.32.0 and on master of 2026-07-01;
   * the go.mod of the pinned 4.34.2 (Sep 2026) could not be read from here.
   */
  helm: "v3.20.2",
  /**
   * rancher/local-path-provisioner release. Not vendored and not fetched at `up`: manifests/local-path.ts writes
   * the objects of github.com/rancher/local-path-provisioner/blob/v0.0.37/deploy/local-path-storage.yaml as typed
   * values (commit 49b2be8e).
   */
  localPathProvisioner: "v0.0.37",
  /**
   * The provisioner image named by that manifest (the release's own tag; built for linux/arm64 among others:
   * github.com/rancher/local-path-provisioner/blob/v0.0.37/.github/workflows/build.yml).
   */
  localPathProvisionerImage: "docker.io/rancher/local-path-provisioner:v0.0.37",
  /**
   * Image of the helper pods that create and delete volume directories (the manifest's helperPod.yaml; v0.0.37
   * runs the image written there, its --helper-image flag is unused). Upstream names `docker.io/library/busybox`
   * with no tag, i.e. `latest`, which now is 1.38.0, also tagged `unstable`; pinned to the stable 1.37.0
   * (docker-library/official-images library/busybox, Aug 2026: tags `1.37.0`, `1.37`, arm64v8 included).
   */
  localPathHelperImage: "docker.io/library/busybox:1.37.0",
  /** Jenkins chart from https://charts.jenkins.io; values.yaml of this version is in shared/charts/. */
  jenkinsChart: "5.9.53",
  /**
   * Tart base image: arm64 Ubuntu 24.04 by Cirrus Labs (admin/admin, passwordless sudo). A tag, not `latest`;
   * the image is rebuilt weekly, so pin a digest (`tart fqn`) for byte-identical rebuilds.
   */
  baseImage: "ghcr.io/cirruslabs/ubuntu:24.04",
} as const;

/**
 * Images the golden node image pre-pulls, as the pinned charts and manifests name them. Each must follow
 * its chart pin above: the golden image's name digests this list, so a change bakes a new image.
 */
export const PREPULL_IMAGES = {
  /**
   * Cilium 1.19.8 as its chart runs them (image.useDigest: tag@digest): agent and operator-generic with the digests
   * of the v1.19.8 release notes' "Docker Manifests"; envoy's tag from the last cilium-envoy bump in those notes
   * (cilium/cilium#48679), pulled by tag (its digest was not read here).
   */
  cilium: [
    "quay.io/cilium/cilium:v1.19.8@sha256:e9f7ee1f2f3a41e44339612e3b6b88170bdde7679c9c9461f287bb27702a8ecf",
    "quay.io/cilium/operator-generic:v1.19.8@sha256:786ec9bb1a9344435e3e3f994bc4ed3a4a85afa6a314e98681af241f8be79833",
    "quay.io/cilium/cilium-envoy:v1.37.6-1789133542-cbec91f666af0bf742da986d43832932dbb26b82",
  ],
  /**
   * Jenkins chart 5.9.53 (its values.yaml, charts.jenkins.io): controller.image registry/repository with no
   * tag, so appVersion 2.568.2 + "-" + tagLabel jdk21; sidecars.configAutoReload.image kiwigrid/k8s-sidecar:2.10.1.
   * Plugins are not baked: the chart's init container still downloads them (docs/performance.md).
   */
  jenkins: ["docker.io/jenkins/jenkins:2.568.2-jdk21", "docker.io/kiwigrid/k8s-sidecar:2.10.1"],
  localPath: [VERSIONS.localPathProvisionerImage, VERSIONS.localPathHelperImage],
} as const;

/**
 * Cilium minor -> Kubernetes minors its docs list as "e2e tested and guaranteed to be compatible"
 * (Documentation/network/kubernetes/compatibility.rst of that release; a release branch keeps its list):
 * 1.18 at v1.18.14, 1.19 at v1.19.3. Cilium's requirements page: "Older Kubernetes versions not listed here do not
 * have Cilium support. Newer Kubernetes versions, while not listed, will depend on the backward compatibility offered
 * by Kubernetes" (docs.cilium.io network/kubernetes/requirements), so the config refuses an older minor and warns
 * about a newer one (lib/lab-config.ts).
 */
export const CILIUM_TESTED_KUBERNETES: Readonly<Record<string, readonly string[]>> = {
  "1.18": ["1.30", "1.31", "1.32", "1.33"],
  "1.19": ["1.32", "1.33", "1.34", "1.35"],
};

/** Oldest Kubernetes minor accepted: kubeadm config API v1beta4 (used here) exists from 1.31 on. */
export const MIN_KUBERNETES_MINOR = 31;
/** Newest Kubernetes minor known to exist when this was written (1.37.0: 2026-08-26). */
export const MAX_KUBERNETES_MINOR = 37;
