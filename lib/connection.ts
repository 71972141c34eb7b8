import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LabSecrets } from "./config";

export interface SshSettings {
  readonly user: string;
  readonly secrets: LabSecrets;
}

/**
 * A configured private key wins over the password. V09: pulumi-command 1.2.1 retries a failed dial,
 * authentication included, up to 41 times over about 161 s of waits, and perDialTimeout bounds only each TCP
 * connect, so a refused port fails after ~2.7 min and a silent address after ~13 min
 * (github.com/pulumi/pulumi-command/blob/v1.2.1/provider/pkg/provider/remote/connection.go `dialWithRetry`).
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
