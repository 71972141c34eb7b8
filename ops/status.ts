/**
 * `tartlab status [--json] [--timeout <seconds>]`: the whole lab's live health in one table. Reads the lab through
 * the one loader (lib/stack-config.ts), then probes it (mac/status.ts). Exit codes: ops/cli.ts.
 */
import { collectStatus, formatStatus } from "../mac/status";
import { CliIo, EXIT, Invocation, labOf, seconds } from "./cli";

export async function statusCommand(inv: Invocation, io: CliIo): Promise<number> {
  const timeout = seconds("timeout", inv.values.timeout as string | undefined, Number.MIN_VALUE);
  const config = labOf(inv);
  const status = await collectStatus(config, {
    env: io.env,
    probeTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
  });
  // A broken lab's JSON is the one a caller needs whole: runAsMain exits only once stdout has taken it.
  io.out(
    inv.values.json ? `${JSON.stringify({ stack: inv.stack, ...status }, null, 2)}\n` : formatStatus(status),
  );
  return status.healthy ? EXIT.ok : EXIT.failed;
}

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(["status", ...process.argv.slice(2)]));
}
