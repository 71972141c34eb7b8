/** The fake Mac the Mac-side code (mac/, ops/) runs on in tests: a sandbox with test/fakes/tart on its PATH. */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Sandbox, sandbox } from "./shell";

/** A sandbox with the fake tart and a softnet that always succeeds, as `tart run --net-softnet` needs one. */
export function tartSandbox(): Sandbox {
  const sb = sandbox();
  sb.useFake("tart");
  sb.fake("softnet", "exit 0");
  return sb;
}

/**
 * The environment Mac-side code runs with on `sb`: the fakes first, then node and the system's tools, the sandbox's
 * home, and where the fakes record calls and keep their VMs.
 */
export const tartEnv = (sb: Sandbox) => ({
  PATH: `${sb.bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: sb.home,
  FAKE_CALLS: path.join(sb.dir, "calls.log"),
  FAKE_TART_HOME: path.join(sb.dir, "tart"),
});

/**
 * Writes a fake Tart VM's state files (test/fakes/tart reads them), with no `tart run` behind it; with `owner`, also
 * the owner marker clone.sh writes for the stack that made it.
 */
export function tartVm(
  sb: Sandbox,
  name: string,
  vm: { state: string; disk: number; cpu?: number; memory?: number },
  owner?: string,
): void {
  const dir = path.join(sb.dir, "tart", name);
  mkdirSync(dir, { recursive: true });
  const { state, disk, cpu = 2, memory = 4096 } = vm;
  for (const [f, v] of Object.entries({ state, disk, cpu, memory, mac: "m" })) {
    writeFileSync(path.join(dir, f), `${v}\n`);
  }
  if (owner) {
    mkdirSync(path.join(sb.home, ".tartlab", "vms"), { recursive: true });
    writeFileSync(path.join(sb.home, ".tartlab", "vms", `${name}.owner`), `${owner}\n`);
  }
}
