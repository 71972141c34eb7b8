import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { HostFacts, parseHostFacts } from "../lib/host";
import { SCRIPTS_DIR, loadScript } from "../lib/shell";

/** It runs with the helper functions and its own path as $0. */
const FACTS_SH = "host/facts.sh";

/** Tests pass fakes on PATH. */
export function probeHost(env: NodeJS.ProcessEnv = process.env): HostFacts {
  const out = execFileSync("bash", ["-c", loadScript(FACTS_SH), path.join(SCRIPTS_DIR, FACTS_SH)], {
    encoding: "utf8",
    env,
    // With a socket on stdin `bash -c` would read ~/.bashrc (bash's rshd rule).
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  return parseHostFacts(out);
}
