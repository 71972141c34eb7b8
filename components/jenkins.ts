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
  readonly provider: k8s.Provider;
  /** Jenkins' PVC must never wait for a default StorageClass (T06). */
  readonly storage: pulumi.Resource;
  readonly nodePort: number;
  readonly nodeIp: pulumi.Input<string>;
  /**
   * Disabling Jenkins keeps its data: the PVC gets Helm's keep policy and the namespace only leaves Pulumi's
   * state, since deleting it would delete the PVC and local-path then the volume.
   */
  readonly retainData: boolean;
}

const NAMESPACE = JENKINS_NAMESPACE;

export class Jenkins extends pulumi.ComponentResource {
  public readonly url: pulumi.Output<string>;
  public readonly adminUser: string = JENKINS_ADMIN_USER;
  public readonly adminPassword: pulumi.Output<string>;

  constructor(name: string, args: JenkinsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tartlab:index:Jenkins", name, {}, opts);
    const k8sOpts = { parent: this, provider: args.provider };

    // Kept in state, so it is stable across `pulumi up`, unlike the chart's own random password.
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
