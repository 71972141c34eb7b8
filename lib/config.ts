/**
 * The ONLY reader of pulumi.Config. Reads the stack's `tartlab:*` keys, validates them (lib/lab-config.ts) and
 * returns typed values; secrets stay Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { LabConfig, NS, RawConfig, validateLabConfig } from "./lab-config";

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

const SCALARS = [
  "kubernetesVersion",
  "ciliumVersion",
  "baseImage",
  "sshUser",
  "vmNetworkCidr",
  "softnetAllow",
  "ipWaitSeconds",
  "allowDataLoss",
  "goldenImage",
] as const;
const OBJECTS = ["clusters", "jenkins", "kubeconfig"] as const;

export function loadConfig(): LoadedConfig {
  const cfg = new pulumi.Config(NS);
  const raw: RawConfig = {};
  for (const key of SCALARS) raw[key] = cfg.get(key);
  for (const key of OBJECTS) {
    try {
      raw[key] = cfg.getObject<unknown>(key);
    } catch {
      raw[key] = cfg.get(key); // not JSON: validation reports its type with the key
    }
  }
  const { config, warnings } = validateLabConfig(raw);
  return {
    config,
    warnings,
    secrets: {
      sshPassword: cfg.getSecret("sshPassword") ?? pulumi.secret("admin"),
      sshPrivateKey: cfg.getSecret("sshPrivateKey"),
    },
  };
}
