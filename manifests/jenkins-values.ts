/**
 * Values for the Jenkins chart 5.9.53, typed from its values.yaml without index signatures so that a
 * misspelled or renamed key (`controller.adminPassword`, gone in 5.0.0; T06) does not compile;
 * test/platform.test.ts checks every key path against the chart.
 */

/** `controller.admin` (values.yaml lines ~87-105). */
export interface JenkinsAdminValues {
  readonly existingSecret: string;
  readonly userKey: string;
  readonly passwordKey: string;
  /**
   * The StatefulSet mounts the admin secret only then
   * (https://github.com/jenkinsci/helm-charts/blob/main/charts/jenkins/templates/jenkins-controller-statefulset.yaml).
   */
  readonly createSecret: true;
}

/** A pod toleration as the chart passes it to the StatefulSet (`controller.tolerations`, values.yaml ~682). */
export interface JenkinsToleration {
  readonly key: string;
  readonly operator: "Exists" | "Equal";
  readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** `controller.image` (values.yaml ~43-55); lib/versions.ts pins the chart's registry, repository and tag. */
export interface JenkinsImageValues {
  /**
   * "Always" asks the registry on every start although the image is pre-pulled, and docker.io rate-limits.
   */
  readonly pullPolicy: "IfNotPresent" | "Always" | "Never";
}

export interface JenkinsControllerValues {
  readonly admin: JenkinsAdminValues;
  readonly image: JenkinsImageValues;
  /** The home volume binds to the controller's node, so rebuilding a worker never takes it. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** `controller.tolerations` (values.yaml ~682): kubeadm's control-plane NoSchedule taint. */
  readonly tolerations: readonly JenkinsToleration[];
  /** So the Mac's browser reaches Jenkins on a node's IP. */
  readonly serviceType: "NodePort" | "ClusterIP" | "LoadBalancer";
  readonly nodePort: number;
}

export interface JenkinsPersistenceValues {
  readonly enabled: boolean;
  /** Unset means the cluster's default StorageClass, local-path. */
  readonly storageClass?: string;
  readonly size: string;
  /** The chart's home-pvc.yaml has no keep policy of its own, so `helm uninstall` would delete the data. */
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
 * The chart names the home PVC after the release
 * (https://github.com/jenkinsci/helm-charts/blob/main/charts/jenkins/templates/home-pvc.yaml).
 * @alias of JENKINS_RELEASE, under the name that says what it is used for
 */
export const JENKINS_HOME_PVC = JENKINS_RELEASE;

/** kubeadm's control-plane label and taint (kubeadm >= 1.24). */
const CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane";
/** helm.sh/docs "Tell Helm Not To Uninstall a Resource". */
export const HELM_KEEP = { "helm.sh/resource-policy": "keep" } as const;

export interface JenkinsValuesOptions {
  readonly nodePort: number;
  readonly retainData: boolean;
}

/** Agents have no volume, and builds belong on the workers, not on the 2-CPU control plane. */
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
