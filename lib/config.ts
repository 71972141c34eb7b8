/** The only reader of pulumi.Config; the secrets stay Pulumi secrets. */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig, LabConfigError, NS, ValidatedConfig } from "./lab-config";
import { labConfigFrom } from "./stack-config";

export interface LabSecrets {
  /** Default: the Cirrus Labs images' "admin". */
  readonly sshPassword: pulumi.Output<string>;
  /** When set, SSH uses the key instead of the password. */
  readonly sshPrivateKey?: pulumi.Output<string>;
}

export interface LoadedConfig {
  readonly config: LabConfig;
  readonly secrets: LabSecrets;
  readonly warnings: readonly string[];
}

/** A refusal is a RunError, which Pulumi prints once without a stack trace. */
export function loadConfig(): LoadedConfig {
  let validated: ValidatedConfig;
  try {
    validated = labConfigFrom(pulumi.runtime.allConfig());
  } catch (e) {
    if (e instanceof LabConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  const cfg = new pulumi.Config(NS);
  return {
    ...validated,
    secrets: {
      sshPassword: cfg.getSecret("sshPassword") ?? pulumi.secret("admin"),
      sshPrivateKey: cfg.getSecret("sshPrivateKey"),
    },
  };
}
