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
  /** Must stay true with existingSecret: the StatefulSet mounts the admin secret only then (facts B.8). */
  readonly createSecret: true;
}

export interface JenkinsControllerValues {
  readonly admin: JenkinsAdminValues;
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
}

export interface JenkinsValues {
  readonly controller: JenkinsControllerValues;
  readonly persistence: JenkinsPersistenceValues;
}

export const JENKINS_ADMIN_SECRET = "jenkins-admin";
export const JENKINS_ADMIN_USER = "admin";

export function jenkinsValues(nodePort: number): JenkinsValues {
  return {
    controller: {
      admin: {
        existingSecret: JENKINS_ADMIN_SECRET,
        userKey: "jenkins-admin-user",
        passwordKey: "jenkins-admin-password",
        createSecret: true,
      },
      serviceType: "NodePort",
      nodePort,
    },
    persistence: { enabled: true, size: "8Gi" },
  };
}
