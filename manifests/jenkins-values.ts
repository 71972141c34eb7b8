/**
 * Values tartlab passes to the Jenkins chart 5.9.53. The interface is written from the chart's values.yaml
 * (`../shared/charts/jenkins-5.9.53-values.yaml`) and has no index signatures, so a misspelled or removed key
 * (the classic: `controller.adminPassword`, renamed in 5.0.0; lesson T06) does not compile.
 * test/platform.test.ts also checks every key path against the chart's key list (and the reference values.yaml
 * when ../shared is present).
 */

/** `controller.admin` (values.yaml lines ~87-105). */
export interface JenkinsAdminValues {
  /** Name of the Secret holding the admin credentials (created by tartlab). */
  readonly existingSecret: string;
  /** Keys inside that Secret. */
  readonly userKey: string;
  readonly passwordKey: string;
  /** Must stay true with existingSecret: the StatefulSet mounts the admin secret only then
   * (https://github.com/jenkinsci/helm-charts/blob/main/charts/jenkins/templates/jenkins-controller-statefulset.yaml). */
  readonly createSecret: true;
}

/** A pod toleration as the chart passes it to the StatefulSet (`controller.tolerations`, values.yaml ~682). */
export interface JenkinsToleration {
  readonly key: string;
  readonly operator: "Exists" | "Equal";
  readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** `controller.image` (values.yaml ~43-55); registry, repository and tag stay the chart's (lib/versions.ts pins them). */
export interface JenkinsImageValues {
  /**
   * The chart's default is "Always": the kubelet then asks the registry on every start, even when the node has
   * the image (the golden image pre-pulls it; docker.io rate-limits anonymous pulls). The tag is fixed, so
   * "IfNotPresent" runs exactly that image.
   */
  readonly pullPolicy: "IfNotPresent" | "Always" | "Never";
}

export interface JenkinsControllerValues {
  readonly admin: JenkinsAdminValues;
  readonly image: JenkinsImageValues;
  /**
   * `controller.nodeSelector` (values.yaml ~678): the controller runs on the control-plane node, so the local-path
   * volume that WaitForFirstConsumer binds to the node of its first pod lives there too, and removing or
   * rebuilding a worker never takes Jenkins' home with it.
   */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** `controller.tolerations` (values.yaml ~682): kubeadm's control-plane NoSchedule taint. */
  readonly tolerations: readonly JenkinsToleration[];
  /** "NodePort" so the Mac's browser reaches Jenkins on a node's IP. */
  readonly serviceType: "NodePort" | "ClusterIP" | "LoadBalancer";
  /** Used only with serviceType NodePort. */
  readonly nodePort: number;
}

export interface JenkinsPersistenceValues {
  readonly enabled: boolean;
  /** Left out on purpose: unset means the cluster's default StorageClass (local-path, made default first). */
  readonly storageClass?: string;
  readonly size: string;
  /**
   * `persistence.annotations` (values.yaml ~1328), set on the home PVC. With `helm.sh/resource-policy: keep`
   * `helm uninstall` leaves the PVC (and so local-path's PV and data) in place: the chart's home-pvc.yaml has
   * no resource-policy of its own, so by default uninstalling the release deletes Jenkins' data.
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface JenkinsValues {
  readonly controller: JenkinsControllerValues;
  readonly persistence: JenkinsPersistenceValues;
}

export const JENKINS_ADMIN_SECRET = "jenkins-admin";
export const JENKINS_ADMIN_USER = "admin";
export const JENKINS_NAMESPACE = "jenkins";
export const JENKINS_RELEASE = "jenkins";
/**
 * The chart names the home PVC after the release (`jenkins.fullname`,
 * https://github.com/jenkinsci/helm-charts/blob/main/charts/jenkins/templates/home-pvc.yaml).
 * @alias of JENKINS_RELEASE, under the name that says what it is used for
 */
export const JENKINS_HOME_PVC = JENKINS_RELEASE;

/** kubeadm's label and taint of a control-plane node (kubeadm >= 1.24; facts upstream-review "kubeadm"). */
const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";
/** Helm keeps a resource with this annotation on uninstall (helm.sh/docs "Tell Helm Not To Uninstall a Resource"). */
export const HELM_KEEP = { "helm.sh/resource-policy": "keep" } as const;

export interface JenkinsValuesOptions {
  readonly nodePort: number;
  /** `tartlab:jenkins.retainData`: the home PVC survives the release's uninstall. */
  readonly retainData: boolean;
}

/*
 * Agents are not pinned: they have no volume (the chart leaves `agent.workspaceVolume` empty: the plugin's emptyDir) and builds belong on the workers,
 * not on the 2-CPU control plane.
 */
export function jenkinsValues({ nodePort, retainData }: JenkinsValuesOptions): JenkinsValues {
  return {
    controller: {
      admin: {
        existingSecret: JENKINS_ADMIN_SECRET,
        userKey: "jenkins-admin-user",
        passwordKey: "jenkins-admin-password",
        createSecret: true,
      },
      image: { pullPolicy: "IfNotPresent" },
      serviceType: "NodePort",
      nodePort,
      // kubeadm labels the control plane with an empty value.
      nodeSelector: { [CONTROL_PLANE_LABEL]: "" },
      tolerations: [{ key: CONTROL_PLANE_LABEL, operator: "Exists", effect: "NoSchedule" }],
    },
    persistence: { enabled: true, size: "8Gi", ...(retainData ? { annotations: HELM_KEEP } : {}) },
  };
}
