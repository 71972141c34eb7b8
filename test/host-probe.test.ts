/**
 * mac/host-probe.ts probeHost on this machine: it runs scripts/host/facts.sh and parses what it prints. The values are
 * checked against the machine itself (uname, nproc), so a facts.sh that prints nothing or the wrong keys fails.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { test } from "node:test";
import { probeHost } from "../mac/host-probe";

test("probeHost reports this machine's OS, architecture, CPUs, memory and disk from facts.sh", () => {
  const facts = probeHost();
  assert.equal(facts.os, execFileSync("uname", ["-s"], { encoding: "utf8" }).trim());
  assert.equal(facts.arch, execFileSync("uname", ["-m"], { encoding: "utf8" }).trim());
  assert.ok(facts.cpus >= 1 && facts.cpus <= cpus().length, `cpus ${facts.cpus}`);
  assert.ok(facts.memoryBytes > 0 && facts.freeDiskBytes > 0, JSON.stringify(facts));
});
