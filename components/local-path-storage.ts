import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as lp from "../manifests/local-path";

export interface LocalPathStorageArgs {
  /** The cluster's own provider. */
  readonly provider: k8s.Provider;
  /** What must be done first: the cluster's nodes-Ready gate. */
  readonly after: pulumi.Input<pulumi.Resource>[];
  /** Nodes in the cluster (one control plane plus workers); 1 = no workers: tolerate the control-plane taint. */
  readonly nodeCount: number;
}

/**
 * rancher/local-path-provisioner v0.0.37 from typed objects written here (manifests/local-path.ts: nothing is
 * downloaded at `up`), its StorageClass created as the cluster's one default (kubeadm has none; a PVC without
 * one stays Pending, lesson T06).
 */
export class LocalPathStorage extends pulumi.ComponentResource {
  /** Depend on this before creating anything with a PersistentVolumeClaim: it exists once the provisioner runs. */
  public readonly defaultStorageClass: k8s.storage.v1.StorageClass;

  constructor(name: string, args: LocalPathStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:LocalPathStorage", name, {}, opts);
    const options = { nodeCount: args.nodeCount };
    lp.tolerateControlPlane(options); // bad nodeCount: fail before any child exists
    const k8sOpts = { parent: this, provider: args.provider };

    // Everything else waits for the namespace, so nothing of local-path is applied before the nodes are Ready.
    const ns = new k8s.core.v1.Namespace(`${name}-local-path-namespace`, lp.namespace(), {
      ...k8sOpts,
      dependsOn: args.after,
    });
    const inNs = { ...k8sOpts, dependsOn: [ns] };
    // RBAC objects may name each other before they exist, so they are created side by side.
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
    // The provisioner reads its ConfigMap at start and exits without it; its pod needs the service account, and
    // without RBAC it cannot watch PVCs.
    const provisioner = new k8s.apps.v1.Deployment(`${name}-local-path-provisioner`, lp.deployment(options), {
      ...k8sOpts,
      dependsOn: [config, ...rbac],
    });
    // After the Deployment is ready (Pulumi awaits its rollout): a PVC that gets this class is then provisioned.
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
