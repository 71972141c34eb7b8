/**
 * `tartlab stop|start [--timeout <seconds>]`: stop powers this stack's VMs off gracefully (forced after
 * --timeout, default 60 s); start revives them and waits up to --timeout (default 300 s, 0 asks once) for the
 * lab to be Ready.
 */
import { formatPower, startLab, stopLab } from "../mac/lab-power";
import { formatStatus } from "../mac/status";
import { stackOwner } from "../mac/home";
import { CliIo, EXIT, Invocation, labOf, runCli, seconds } from "./cli";

export async function labCommand(verb: "start" | "stop", inv: Invocation, io: CliIo): Promise<number> {
  const timeoutSeconds = seconds("timeout", inv.values.timeout as string | undefined, 0);
  if (timeoutSeconds !== undefined && !Number.isInteger(timeoutSeconds)) {
    io.err(`--timeout must be a whole number of seconds >= 0, got ${inv.values.timeout}\n`);
    return EXIT.usage;
  }
  const config = labOf(inv);
  const owner = stackOwner(inv.dir, inv.stack);
  const { stack } = inv;
  // Progress goes to stderr so that stdout holds the table and the verdict.
  const progress = (line: string) => io.err(`${line}\n`);
  if (verb === "stop") {
    const r = await stopLab(config, owner, { env: io.env, gracefulStopSeconds: timeoutSeconds, progress });
    io.out(formatPower(r.vms));
    return r.ok ? EXIT.ok : EXIT.failed;
  }
  const r = await startLab(config, owner, { env: io.env, readySeconds: timeoutSeconds, progress });
  io.out(formatPower(r.vms));
  const names = (actions: string[]) => r.vms.filter((v) => actions.includes(v.action)).map((v) => v.name);
  const up = names(["started", "already-running"]);
  const down = names(["failed", "absent", "not-ours"]);
  io.out(`\nrunning: ${up.join(", ") || "none"}; not started: ${down.join(", ") || "none"}\n`);
  if (r.status) io.out(`\n${formatStatus(r.status)}`);
  io.out(
    r.ok
      ? `\ntartlab: stack ${stack} is Ready (after ${r.readyAfterSeconds}s)\n`
      : `\ntartlab: stack ${stack} is not Ready; see above (tartlab status --stack ${stack})\n`,
  );
  return r.ok ? EXIT.ok : EXIT.failed;
}

export const main = async (argv: string[], io: CliIo): Promise<number> => (await runCli(argv, io)) ?? EXIT.ok;

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(process.argv.slice(2)));
}
