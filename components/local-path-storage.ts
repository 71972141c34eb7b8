import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as lp from "../manifests/local-path";

export interface LocalPathStorageArgs {
  readonly provider: k8s.Provider;
  readonly after: pulumi.Input<pulumi.Resource>[];
  /** 1 means no workers, so the control-plane taint is tolerated. */
  readonly nodeCount: number;
}

/**
 * rancher/local-path-provisioner v0.0.37 from manifests/local-path.ts (nothing downloaded at `up`), its
 * StorageClass the cluster's default because kubeadm makes none and a PVC without one stays Pending (T06).
 */
export class LocalPathStorage extends pulumi.ComponentResource {
  /** Exists once the provisioner runs, so PVC users depend on it. */
  public readonly defaultStorageClass: k8s.storage.v1.StorageClass;

  constructor(name: string, args: LocalPathStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:LocalPathStorage", name, {}, opts);
    const options = { nodeCount: args.nodeCount };
    lp.tolerateControlPlane(options); // bad nodeCount: fail before any child exists
    const k8sOpts = { parent: this, provider: args.provider };

    // Nothing of local-path is applied before the nodes are Ready.
    const ns = new k8s.core.v1.Namespace(`${name}-local-path-namespace`, lp.namespace(), {
      ...k8sOpts,
      dependsOn: args.after,
    });
    const inNs = { ...k8sOpts, dependsOn: [ns] };
    // RBAC objects may name each other before they exist.
    const rbac = [
      new k8s.core.v1.ServiceAccount(`${name}-local-path-sa`, lp.serviceAccount(), inNs),
      new k8s.rbac.v1.Role(`${name}-local-path-role`, lp.role(), inNs),
      new k8s.rbac.v1.RoleBinding(`${name}-local-path-rolebinding`, lp.roleBinding(), inNs),
      new k8s.rbac.v1.ClusterRole(`${name}-local-path-clusterrole`, lp.clusterRole(), inNs),
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-local-path-clusterrolebinding`,
        lp.clusterRoleBinding(),
        inNs,
      ),
    ];
    const config = new k8s.core.v1.ConfigMap(`${name}-local-path-config`, lp.configMap(options), inNs);
    // The provisioner exits without its ConfigMap, and needs the service account and RBAC to watch PVCs.
    const provisioner = new k8s.apps.v1.Deployment(`${name}-local-path-provisioner`, lp.deployment(options), {
      ...k8sOpts,
      dependsOn: [config, ...rbac],
    });
    // Pulumi awaits the Deployment's rollout, so a PVC that gets this class is provisioned.
    this.defaultStorageClass = new k8s.storage.v1.StorageClass(
      `${name}-default-storageclass`,
      lp.storageClass(),
      {
        ...k8sOpts,
        dependsOn: [provisioner],
      },
    );
    this.registerOutputs({});
  }
}
