/** Reads this Mac's facts for the host preflight (lib/host.ts judges them). */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { HostFacts, parseHostFacts } from "../lib/host";
import { SCRIPTS_DIR, loadScript } from "../lib/shell";

/** The probe script, under scripts/. It runs with the helper functions and its own path as $0. */
const FACTS_SH = "host/facts.sh";

/** The Mac's facts, read by scripts/host/facts.sh in `env` (tests pass fakes on PATH). */
export function probeHost(env: NodeJS.ProcessEnv = process.env): HostFacts {
  const out = execFileSync("bash", ["-c", loadScript(FACTS_SH), path.join(SCRIPTS_DIR, FACTS_SH)], {
    encoding: "utf8",
    env,
    // Not a socket on stdin: `bash -c` would then read ~/.bashrc (bash's rshd rule) instead of running as given.
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  return parseHostFacts(out);
}
