import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  JENKINS_ADMIN_SECRET,
  JENKINS_ADMIN_USER,
  JENKINS_NAMESPACE,
  JENKINS_RELEASE,
  jenkinsValues,
} from "../manifests/jenkins-values";
import { VERSIONS } from "../lib/versions";

export interface JenkinsArgs {
  /** The cluster's own provider. */
  readonly provider: k8s.Provider;
  /** The default StorageClass resource: Jenkins' PVC must never wait for one (T06). */
  readonly storage: pulumi.Resource;
  readonly nodePort: number;
  /** A node IP of the cluster, for the URL the Mac's browser uses. */
  readonly nodeIp: pulumi.Input<string>;
  /**
   * `tartlab:jenkins.retainData`: disabling Jenkins keeps its data. The home PVC gets Helm's keep policy and the
   * namespace is only dropped from Pulumi's state (deleting it would delete the PVC with it, and local-path's
   * reclaimPolicy Delete then removes the volume's directory).
   */
  readonly retainData: boolean;
}

const NAMESPACE = JENKINS_NAMESPACE;

/** Jenkins from the pinned chart, with a generated admin password kept secret end to end. */
export class Jenkins extends pulumi.ComponentResource {
  public readonly url: pulumi.Output<string>;
  public readonly adminUser: string = JENKINS_ADMIN_USER;
  public readonly adminPassword: pulumi.Output<string>;

  constructor(name: string, args: JenkinsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:Jenkins", name, {}, opts);
    const k8sOpts = { parent: this, provider: args.provider };

    // Generated once and kept in state: stable across `pulumi up` (the chart's own random password is not).
    const password = new random.RandomPassword(
      `${name}-admin-password`,
      { length: 24, special: false },
      { parent: this, additionalSecretOutputs: ["result"] },
    );
    this.adminPassword = pulumi.secret(password.result);

    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: NAMESPACE } },
      { ...k8sOpts, retainOnDelete: args.retainData },
    );
    const secret = new k8s.core.v1.Secret(
      `${name}-admin-secret`,
      {
        metadata: { name: JENKINS_ADMIN_SECRET, namespace: NAMESPACE },
        type: "Opaque",
        stringData: {
          "jenkins-admin-user": JENKINS_ADMIN_USER,
          "jenkins-admin-password": this.adminPassword,
        },
      },
      { ...k8sOpts, dependsOn: [ns] },
    );
    new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: JENKINS_RELEASE,
        chart: "jenkins",
        version: VERSIONS.jenkinsChart,
        repositoryOpts: { repo: "https://charts.jenkins.io" },
        namespace: NAMESPACE,
        values: jenkinsValues({ nodePort: args.nodePort, retainData: args.retainData }),
        timeout: 1200,
      },
      { ...k8sOpts, dependsOn: [secret, args.storage] },
    );
    this.url = pulumi.interpolate`http://${args.nodeIp}:${args.nodePort}`;
    this.registerOutputs({ url: this.url, adminPassword: this.adminPassword });
  }
}
