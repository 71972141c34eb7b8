/**
 * `tartlab ssh <vm> [-- <command>…]` as the lab's login user, with --identity or $TARTLAB_SSH_KEY when given.
 */
import { spawn } from "node:child_process";
import { allNodes } from "../lib/lab-config";
import { tartIp, withTartPath } from "../mac/tart";
import { CliIo, EXIT, Invocation, UsageError, labOf } from "./cli";

async function addressOf(vm: string, env: NodeJS.ProcessEnv): Promise<{ ip: string } | { problem: string }> {
  try {
    const { ip, printed } = await tartIp(vm, env, 30_000);
    if (ip) return { ip };
    return {
      problem: `VM ${vm} has no address (tart ip printed ${JSON.stringify(printed.trim())}); is it running? tartlab start`,
    };
  } catch (e) {
    const why = (e as Error).message;
    if (/ENOENT|not found on PATH/.test(why)) {
      return { problem: "tart is not on PATH; install it: brew install cirruslabs/cli/tart" };
    }
    return { problem: `VM ${vm} has no address (tart ip: ${why}); is it running? tartlab start` };
  }
}

/** Host keys are not pinned, since a rebuilt VM reuses an address. */
export function sshArgs(
  user: string,
  ip: string,
  opts: { identity?: string; port?: string },
  command: string[],
) {
  return [
    ...(opts.identity ? ["-i", opts.identity, "-o", "IdentitiesOnly=yes"] : []),
    ...(opts.port ? ["-p", opts.port] : []),
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    `${user}@${ip}`,
    ...command,
  ];
}

export async function sshCommand(inv: Invocation, io: CliIo): Promise<number> {
  const [vm, ...command] = inv.positionals;
  const port = inv.values.port as string | undefined;
  if (port !== undefined && !/^\d+$/.test(port)) throw new UsageError(`--port ${port} is not a port number`);
  const config = labOf(inv);
  const names = allNodes(config).map(({ node }) => node.name);
  if (!names.includes(vm)) {
    io.err(`tartlab ssh: ${vm} is not a VM of stack ${inv.stack} (its VMs: ${names.join(", ")})\n`);
    return EXIT.usage;
  }
  const env = withTartPath(io.env);
  const address = await addressOf(vm, env);
  if ("problem" in address) {
    io.err(`tartlab ssh: ${address.problem}\n`);
    return EXIT.failed;
  }
  const identity = (inv.values.identity as string | undefined) ?? (io.env.TARTLAB_SSH_KEY || undefined);
  const args = sshArgs(config.sshUser, address.ip, { identity, port }, command);
  return new Promise((resolve) => {
    const child = spawn("ssh", args, { env: io.env, stdio: "inherit" });
    child.on("error", (e) => {
      io.err(`tartlab ssh: ${e.message}\n`);
      resolve(EXIT.failed);
    });
    child.on("close", (code) => resolve(code ?? EXIT.failed));
  });
}
