/**
 * A real OpenSSH server on 127.0.0.1 for transport tests: its own host key, config and port, a non-root login
 * user with passwordless sudo (like the Tart image's admin), key auth. Needs root (to create the user) and
 * sshd/sudo installed (.ci/run installs them). `sshdUnavailable()` says why not, for a skip reason.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, chmodSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";

export const SSH_USER = "tartlab-test";
const SSHD = "/usr/sbin/sshd";

export function sshdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to create the test user";
  for (const bin of [SSHD, "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/sudo"]) {
    if (spawnSync("test", ["-x", bin]).status !== 0) return `${bin} is not installed`;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

export interface Sshd {
  readonly port: number;
  readonly keyFile: string;
  /** Runs `command` on the server the way @pulumi/command's remote.Command does (an SSH exec request + stdin). */
  exec(
    command: string,
    stdin: string,
    extraSshArgs?: string[],
  ): { status: number; stdout: string; stderr: string };
  stop(): void;
}

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(path.join(tmpdir(), "tartlab-sshd-"));
  chmodSync(dir, 0o755);
  const createdUser = spawnSync("id", [SSH_USER]).status !== 0;
  if (createdUser) execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", SSH_USER]);
  // No password, but not "locked" either ("!" makes sshd refuse even key logins when PAM is off).
  execFileSync("usermod", ["-p", "*", SSH_USER]);
  const sudoers = `/etc/sudoers.d/${SSH_USER}`;
  const createdSudoers = !existsSync(sudoers);
  writeFileSync(sudoers, `${SSH_USER} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  const home = execFileSync("getent", ["passwd", SSH_USER], { encoding: "utf8" }).split(":")[5];
  const keyFile = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  mkdirSync(`${home}/.ssh`, { recursive: true, mode: 0o700 });
  execFileSync("cp", [`${keyFile}.pub`, `${home}/.ssh/authorized_keys`]);
  execFileSync("chown", ["-R", `${SSH_USER}:`, `${home}/.ssh`]);
  chmodSync(`${home}/.ssh/authorized_keys`, 0o600);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // Debian's and Ubuntu's default: only LANG and LC_* may be set by clients (facts/pulumi.md §1.4).
      "AcceptEnv LANG LC_*",
      `AllowUsers ${SSH_USER}`,
      "",
    ].join("\n"),
  );
  const proc: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr?.on("data", (d) => (log += d));
  const sshArgs = [
    "-i",
    keyFile,
    "-p",
    String(port),
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
  ];
  const exec: Sshd["exec"] = (command, stdin, extra = []) => {
    const r = spawnSync("ssh", [...sshArgs, ...extra, `${SSH_USER}@127.0.0.1`, command], {
      input: stdin,
      encoding: "utf8",
      timeout: 30_000,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  // Wait until sshd accepts logins.
  for (let i = 0; ; i++) {
    if (exec("true", "").status === 0) break;
    if (i > 50) {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not come up on 127.0.0.1:${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Undo what this harness changed on the machine: the server, its keys, the sudoers drop-in and the user.
  const stop = () => {
    proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    // Only what this run created: another run on the same machine may be using a user that was already there.
    if (createdSudoers) rmSync(sudoers, { force: true });
    if (createdUser) spawnSync("userdel", ["--remove", SSH_USER]);
  };
  return { port, keyFile, exec, stop };
}
