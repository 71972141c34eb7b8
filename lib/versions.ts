/**
 * Every external version tartlab uses, in one place, each with its source (V02: versions are strings).
 * npm packages are pinned exactly in package.json / package-lock.json (notably @pulumi/command 1.2.1:
 * npm's `latest` 4.5.0 is a stale publish without `logging`; see shared facts/pulumi.md §0).
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
   * rancher/local-path-provisioner, manifest vendored in manifests/local-path-storage.yaml from
   * https://raw.githubusercontent.com/rancher/local-path-provisioner/v0.0.37/deploy/local-path-storage.yaml
   */
  localPathProvisioner: "v0.0.37",
  /** The manifest of that release, applied as-is (not vendored: see manifests/README.md). */
  localPathManifest:
    "https://raw.githubusercontent.com/rancher/local-path-provisioner/v0.0.37/deploy/local-path-storage.yaml",
  /** Jenkins chart from https://charts.jenkins.io; values.yaml of this version is in shared/charts/. */
  jenkinsChart: "5.9.53",
  /**
   * Tart base image: arm64 Ubuntu 24.04 by Cirrus Labs (admin/admin, passwordless sudo). A tag, not `latest`;
   * the image is rebuilt weekly, so pin a digest (`tart fqn`) for byte-identical rebuilds.
   */
  baseImage: "ghcr.io/cirruslabs/ubuntu:24.04",
} as const;

/**
 * Cilium minor -> Kubernetes minors its docs list as "e2e tested and guaranteed to be compatible"
 * (Documentation/network/kubernetes/compatibility.rst of that release; a release branch keeps its list):
 * 1.18 at v1.18.14, 1.19 at v1.19.3.
 */
export const CILIUM_TESTED_KUBERNETES: Readonly<Record<string, readonly string[]>> = {
  "1.18": ["1.30", "1.31", "1.32", "1.33"],
  "1.19": ["1.32", "1.33", "1.34", "1.35"],
};

/** Oldest Kubernetes minor accepted: kubeadm config API v1beta4 (used here) exists from 1.31 on. */
export const MIN_KUBERNETES_MINOR = 31;
/** Newest Kubernetes minor known to exist when this was written (1.37.0: 2026-08-26). */
export const MAX_KUBERNETES_MINOR = 37;
