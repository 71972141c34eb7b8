import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LabSecrets } from "./config";

export interface SshSettings {
  readonly user: string;
  readonly secrets: LabSecrets;
}

/**
 * SSH connection to a VM. Credentials are secrets (the SDK also wraps the whole connection in a secret);
 * a configured private key wins over the password. Retries cover a VM whose sshd is still starting:
 * 40 dials x 15 s = up to 10 minutes, then a clear dial error (V09).
 */
export function sshConnection(
  host: pulumi.Input<string>,
  ssh: SshSettings,
): command.types.input.remote.ConnectionArgs {
  return {
    host,
    port: 22,
    user: ssh.user,
    ...(ssh.secrets.sshPrivateKey
      ? { privateKey: ssh.secrets.sshPrivateKey }
      : { password: ssh.secrets.sshPassword }),
    dialErrorLimit: 40,
    perDialTimeout: 15,
  };
}
