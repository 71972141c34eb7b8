import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { VERSIONS } from "../lib/versions";

export interface LocalPathStorageArgs {
  /** The cluster's own provider. */
  readonly provider: k8s.Provider;
  /** What must be done first: the cluster's nodes-Ready gate. */
  readonly after: pulumi.Input<pulumi.Resource>[];
}

/** StorageClass name and provisioner of the pinned local-path manifest. */
export const LOCAL_PATH_STORAGE_CLASS = "local-path";

/**
 * rancher/local-path-provisioner from its pinned release manifest, and its StorageClass made the cluster's one
 * default (kubeadm has none; a PVC without one stays Pending, lesson T06).
 */
export class LocalPathStorage extends pulumi.ComponentResource {
  /** Depend on this before creating anything with a PersistentVolumeClaim. */
  public readonly defaultStorageClass: k8s.storage.v1.StorageClassPatch;

  constructor(name: string, args: LocalPathStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:LocalPathStorage", name, {}, opts);
    const manifest = new k8s.yaml.v2.ConfigFile(
      `${name}-local-path`,
      { file: VERSIONS.localPathManifest },
      { parent: this, provider: args.provider, dependsOn: args.after },
    );
    this.defaultStorageClass = new k8s.storage.v1.StorageClassPatch(
      `${name}-default-storageclass`,
      {
        metadata: {
          name: LOCAL_PATH_STORAGE_CLASS,
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
      },
      { parent: this, provider: args.provider, dependsOn: [manifest] },
    );
    this.registerOutputs({});
  }
}
