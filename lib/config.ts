/**
 * The ONLY reader of pulumi.Config: `pulumi up`'s lab through the one loader (lib/stack-config.ts), and the secrets,
 * which stay Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig, LabConfigError, NS, ValidatedConfig } from "./lab-config";
import { labConfigFrom } from "./stack-config";

export interface LabSecrets {
  /** SSH password of the image's login user (default: the Cirrus Labs images' "admin"). Secret. */
  readonly sshPassword: pulumi.Output<string>;
  /** Private key contents; when set, SSH uses the key instead of the password. Secret. */
  readonly sshPrivateKey?: pulumi.Output<string>;
}

export interface LoadedConfig {
  readonly config: LabConfig;
  readonly secrets: LabSecrets;
  readonly warnings: readonly string[];
}

/**
 * `pulumi up`'s lab. A refusal is a RunError: Pulumi prints it once, without a stack trace, and nothing is
 * created.
 */
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
