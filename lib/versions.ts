/**
 * Every external version tartlab uses, each with its source; npm packages are pinned in package-lock.json
 * (@pulumi/command 1.2.1 because npm's `latest` 4.5.0 is a stale publish without `logging`).
 */
export const VERSIONS = {
  /**
   * The newest minor the default Cilium lists as e2e tested (CILIUM_TESTED_KUBERNETES), maintained until
   * 2027-02-28 (https://kubernetes.io/releases/1.35/).
   */
  kubernetes: "1.35",
  /**
   * Newest 1.19 patch in https://helm.cilium.io's stable table (Oct 2026); 1.20's Kubernetes list is unread.
   */
  cilium: "1.19.8",
  /**
   * The Helm test/cilium-render.test.ts renders the Cilium chart with (built by tools/helm.sh): the helm.sh/helm/v3
   * that @pulumi/kubernetes' provider embeds, read from github.com/pulumi/pulumi-kubernetes provider/go.mod at
   * v4.30.0 to v4.32.0 and master of 2026-07-01 (the pinned 4.34.2's go.mod could not be read).
   */
  helm: "v3.20.2",
  /**
   * manifests/local-path.ts writes the objects of
   * github.com/rancher/local-path-provisioner/blob/v0.0.37/deploy/local-path-storage.yaml (commit 49b2be8e)
   * as typed values, so nothing is fetched at `up`.
   */
  localPathProvisioner: "v0.0.37",
  /**
   * The release's own tag, built for linux/arm64
   * (github.com/rancher/local-path-provisioner/blob/v0.0.37/.github/workflows/build.yml).
   */
  localPathProvisionerImage: "docker.io/rancher/local-path-provisioner:v0.0.37",
  /**
   * The helper pods run the image helperPod.yaml names, untagged busybox whose `latest` is the unstable
   * 1.38.0, so it is pinned to the stable 1.37.0 (docker-library/official-images library/busybox, Aug 2026).
   */
  localPathHelperImage: "docker.io/library/busybox:1.37.0",
  /** https://charts.jenkins.io */
  jenkinsChart: "5.9.53",
  /**
   * Cirrus Labs' arm64 Ubuntu 24.04 (admin/admin, passwordless sudo), rebuilt weekly: pin a digest (`tart
   * fqn`) for byte-identical rebuilds.
   */
  baseImage: "ghcr.io/cirruslabs/ubuntu:24.04",
} as const;

/** The golden image's name digests this list, so each entry follows its chart pin and a change bakes anew. */
export const PREPULL_IMAGES = {
  /**
   * Digests of the v1.19.8 release notes' "Docker Manifests" (the chart sets image.useDigest); envoy by the
   * tag of the last cilium-envoy bump there (cilium/cilium#48679).
   */
  cilium: [
    "quay.io/cilium/cilium:v1.19.8@sha256:e9f7ee1f2f3a41e44339612e3b6b88170bdde7679c9c9461f287bb27702a8ecf",
    "quay.io/cilium/operator-generic:v1.19.8@sha256:786ec9bb1a9344435e3e3f994bc4ed3a4a85afa6a314e98681af241f8be79833",
    "quay.io/cilium/cilium-envoy:v1.37.6-1789133542-cbec91f666af0bf742da986d43832932dbb26b82",
  ],
  /**
   * Chart 5.9.53's values.yaml: appVersion 2.568.2 + "-jdk21", and sidecars.configAutoReload.image; plugins
   * are still downloaded by the init container (docs/performance.md).
   */
  jenkins: ["docker.io/jenkins/jenkins:2.568.2-jdk21", "docker.io/kiwigrid/k8s-sidecar:2.10.1"],
  localPath: [VERSIONS.localPathProvisionerImage, VERSIONS.localPathHelperImage],
} as const;

/**
 * Kubernetes minors each Cilium minor's Documentation/network/kubernetes/compatibility.rst lists as "e2e
 * tested" (1.18 at v1.18.14, 1.19 at v1.19.3); docs.cilium.io network/kubernetes/requirements says older ones
 * have no support and newer ones rely on Kubernetes' backward compatibility, so lib/lab-config.ts refuses
 * older and warns about newer.
 */
export const CILIUM_TESTED_KUBERNETES: Readonly<Record<string, readonly string[]>> = {
  "1.18": ["1.30", "1.31", "1.32", "1.33"],
  "1.19": ["1.32", "1.33", "1.34", "1.35"],
};

/** kubeadm config API v1beta4, used here, exists from 1.31 on. */
export const MIN_KUBERNETES_MINOR = 31;
/** Newest minor known to exist when this was written (1.37.0: 2026-08-26). */
export const MAX_KUBERNETES_MINOR = 37;
