/**
 * `tartlab dashboard [--port <n>] [--host <address>] [--allow-remote] …` serves the status model on a local
 * page; the page has no login, so it listens on 127.0.0.1 unless --allow-remote is given.
 */
import { AddressInfo } from "node:net";
import { checkBindAddress, createDashboard } from "../mac/dashboard";
import { isLoopback } from "../lib/ip";
import { CliIo, EXIT, Invocation, UsageError, labOf, seconds } from "./cli";

export async function dashboardCommand(inv: Invocation, io: CliIo): Promise<number | undefined> {
  const v = inv.values;
  const host = (v.host as string | undefined) ?? "127.0.0.1";
  const portText = (v.port as string | undefined) ?? "8765";
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(`--port ${portText} is not a port number (0-65535; 0 = any free port)`);
  }
  // A bad --timeout is a usage error now rather than a failed read later.
  seconds("timeout", v.timeout as string | undefined, Number.MIN_VALUE);
  const refreshMs = (seconds("interval", v.interval as string | undefined, Number.MIN_VALUE) ?? 5) * 1000;
  const allowRemote = v["allow-remote"] === true;
  const refused = checkBindAddress(host, allowRemote);
  if (refused) {
    io.err(`tartlab dashboard: ${refused}\n`);
    return EXIT.usage;
  }
  const config = labOf(inv);
  // The Kubernetes client alone takes seconds to load.
  const [{ collectStatus }, { statusOptions }] = await Promise.all([
    import("../mac/status"),
    import("./status"),
  ]);
  const dashboard = createDashboard({
    collect: async () => ({
      stack: inv.stack,
      ...(await collectStatus(config, statusOptions(inv, io))),
    }),
    refreshMs,
    allowRemote,
  });
  const { server } = dashboard;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === "EADDRINUSE" ? "; pick another with --port <n> (0 = any free port)" : "";
    io.err(`tartlab dashboard: cannot listen on ${host}:${port}: ${err.code}${hint}\n`);
    return EXIT.failed;
  }
  const { address, port: bound } = server.address() as AddressInfo;
  const shown = address.includes(":") ? `[${address}]` : address;
  if (!isLoopback(host)) {
    io.err(`tartlab dashboard: --allow-remote: listening on ${host}, without a login\n`);
  }
  io.out(`tartlab dashboard (stack ${inv.stack}): http://${shown}:${bound}/\n`);
  const stop = () => {
    dashboard.close().then(() => process.exit(EXIT.ok));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return undefined;
}

if (require.main === module) {
  void import("./cli").then((cli) => cli.runAsMain(["dashboard", ...process.argv.slice(2)]));
}
