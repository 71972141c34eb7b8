/** Running the program's recorded steps on fakes: the env a step carries, and a step that must succeed. */
import assert from "node:assert/strict";
import { Recorder, bundleEnv, unwrap } from "./pulumi";
import { ShellRun } from "./shell";

/** The environment the recorded step `name` sends in its stdin bundle: exactly what its script gets. */
export const envOf = (rec: Recorder, name: string) => bundleEnv(unwrap(rec.byName(name).inputs.stdin));

/** Fails the test unless the run of `step` succeeded, with its output for the reader. */
export const ok = (step: string, r: ShellRun) =>
  assert.equal(r.code, 0, `${step} failed:\n${r.stderr}\n${r.stdout}`);
