import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LabSecrets } from "./config";

export interface SshSettings {
  readonly user: string;
  readonly secrets: LabSecrets;
}

/**
 * SSH connection to a VM. Credentials are secrets (the SDK also wraps the whole connection in a secret);
 * a configured private key wins over the password.
 *
 * Retries cover a VM whose sshd is still starting (V09). What pulumi-command 1.2.1 really does
 * (github.com/pulumi/pulumi-command/blob/v1.2.1/provider/pkg/provider/remote/connection.go `dialWithRetry`,
 * pulumi sdk `retry.Until`): a failed dial is retried
 * until dials > dialErrorLimit, so up to 41 dials, with waits of 100 ms x 1.5 per try capped at 5 s (10 short waits,
 * 11.3 s, then 30 x 5 s: about 161 s of waiting in all). perDialTimeout is x/crypto/ssh's ClientConfig.Timeout,
 * which bounds only the TCP connect of each dial, not the SSH handshake. So the bound is about 2.7 minutes when the
 * VM refuses port 22 at once (booted, sshd not yet up), and about 13 minutes (161 s + 41 x 15 s) when its address
 * does not answer at all. Authentication failures are dial errors too and are retried the same way: a wrong
 * password or key fails only after the whole ~2.7 minutes, with the last error ("unable to authenticate").
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
