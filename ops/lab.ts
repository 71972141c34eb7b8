/**
 * `tartlab stop` / `tartlab start` [--timeout <seconds>].
 * stop: graceful poweroff of every VM of this stack (scripts/tart-vm/stop.sh; forced after --timeout, default 60 s).
 * start: the VMs again with `pulumi up`'s revive, then waits up to --timeout (default 300 s) for the lab to be
 * Ready (mac/status.ts) and prints its status; --timeout 0 asks once and does not wait. Only VMs whose owner marker
 * names this stack are touched (mac/lab-power.ts). Exit codes: ops/cli.ts (1: a VM failed or the lab is not Ready).
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
  // A line per VM as it goes, on stderr; the table and the verdict follow on stdout.
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

/** `tartlab stop|start …` in this process (tests); the exit code. */
export const main = async (argv: string[], io: CliIo): Promise<number> => (await runCli(argv, io)) ?? EXIT.ok;

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(process.argv.slice(2)));
}
