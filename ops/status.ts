/** `tartlab status [--json] [--timeout <seconds>]`: the lab's live health in one table. */
import { StatusOptions, collectStatus, formatStatus } from "../mac/status";
import { listSnapshots } from "../mac/snapshot";
import { CliIo, EXIT, Invocation, labOf, seconds } from "./cli";

/** One place, so that status and the dashboard never disagree. */
export function statusOptions(inv: Invocation, io: CliIo): StatusOptions {
  const timeout = seconds("timeout", inv.values.timeout as string | undefined, Number.MIN_VALUE);
  return {
    env: io.env,
    probeTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
    snapshots: (tartTimeoutMs) => listSnapshots(inv.stack, { env: io.env, dir: inv.dir, tartTimeoutMs }),
  };
}

export async function statusCommand(inv: Invocation, io: CliIo): Promise<number> {
  const config = labOf(inv);
  const status = await collectStatus(config, statusOptions(inv, io));
  // A broken lab's JSON is what a caller needs whole, and runAsMain exits only once stdout has taken it.
  io.out(
    inv.values.json ? `${JSON.stringify({ stack: inv.stack, ...status }, null, 2)}\n` : formatStatus(status),
  );
  return status.healthy ? EXIT.ok : EXIT.failed;
}

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(["status", ...process.argv.slice(2)]));
}
