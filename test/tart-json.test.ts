/**
 * Malformed-input tables for the readers of Tart's JSON: `tart list --format json` in mac/status.ts
 * (tartlab status) and mac/revive.ts (T09 at every pulumi up), `tart get --format json` and `tart ip` in
 * mac/status.ts. Tart is a fake printing exactly the bytes of each row. Before these tables, a JSON object or a
 * null entry crashed revive with a TypeError, and a `tart get` printing no JSON rejected the whole status.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { allNodes, validateLabConfig } from "../lib/lab-config";
import { reviveStoppedVms } from "../mac/revive";
import { collectStatus } from "../mac/status";
import { devRawConfig } from "./harness/pulumi";
import { Sandbox, sandbox } from "./harness/shell";

const config = validateLabConfig(devRawConfig()).config;
const OWNER = "tartlab/dev";
const spec = allNodes(config).find(({ node }) => node.name === "dev-master")!.node;

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
  // dev-master is this stack's VM, so revive would act on it.
  mkdirSync(path.join(sb.home, ".tartlab/vms"), { recursive: true });
  writeFileSync(path.join(sb.home, ".tartlab/vms/dev-master.owner"), `${OWNER}\n`);
});
afterEach(() => sb.dispose());

/** A tart printing these exact bytes for `list`, `get` and `ip`. */
function tart(out: { list: string; get?: string; ip?: string }) {
  const file = (k: string, v: string) => {
    const f = path.join(sb.dir, `tart-${k}.out`);
    writeFileSync(f, v);
    return f;
  };
  const get = file("get", out.get ?? JSON.stringify({ CPU: spec.cpus, Memory: spec.memoryMb }));
  const ip = file("ip", out.ip ?? "192.168.64.5\n");
  sb.fake(
    "tart",
    `case "$1" in list) cat ${JSON.stringify(file("list", out.list))} ;; get) cat ${JSON.stringify(get)} ;; ip) cat ${JSON.stringify(ip)} ;; esac`,
  );
}
const env = () => ({
  PATH: `${sb.bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: sb.home,
  FAKE_CALLS: path.join(sb.dir, "calls.log"),
});
const devMaster = async () => {
  const s = await collectStatus(config, { env: env(), probeTimeoutMs: 3000 });
  return s.vms.find((v) => v.name === "dev-master")!;
};

const running = (name = "dev-master", state = "running") => JSON.stringify([{ Name: name, State: state }]);

describe("tart list --format json", () => {
  const NO_LIST = /^cannot read Tart's VM list: tart list printed JSON that is not a list of VMs: /;
  const NOT_JSON = /^cannot read Tart's VM list: .*JSON/;
  const revived = (m: string) => `could not read Tart's VM list (stopped VMs were not started again): ${m}`;
  // [what, stdout, status of dev-master: state and its one problem, revive's messages]
  const rows: [string, string, string, RegExp, string[]][] = [
    ["empty", "", "unknown", NOT_JSON, [revived("tart list printed no JSON: ")]],
    [
      "truncated",
      '[{"Name":"dev-master"',
      "unknown",
      NOT_JSON,
      [revived('tart list printed no JSON: [{"Name":"dev-master"')],
    ],
    [
      "the text table instead of JSON (T08)",
      "Source Name State\nlocal dev-master running\n",
      "unknown",
      NOT_JSON,
      [revived("tart list printed no JSON: Source Name State\nlocal dev-master running\n")],
    ],
    [
      "a JSON object",
      '{"Name":"dev-master","State":"stopped"}',
      "unknown",
      NO_LIST,
      [revived('tart list printed JSON that is not a list of VMs: {"Name":"dev-master","State":"stopped"}')],
    ],
    [
      "a null entry",
      "[null]",
      "unknown",
      NO_LIST,
      [revived("tart list printed JSON that is not a list of VMs: [null]")],
    ],
    [
      "a list of names",
      '["dev-master"]',
      "unknown",
      NO_LIST,
      [revived('tart list printed JSON that is not a list of VMs: ["dev-master"]')],
    ],
    ["no VMs", "[]", "absent", /^not created \(run pulumi up\)$/, []],
    [
      "CRLF after the JSON",
      `${running("dev-master", "stopped")}\r\n`,
      "stopped",
      /^is stopped; tartlab start/,
      ["VM dev-master is stopped; pulumi up will start it again"],
    ],
    [
      "running, with extra fields",
      JSON.stringify([{ Name: "dev-master", State: "running", Size: 20, Extra: [1] }]),
      "running",
      /^$/,
      [],
    ],
    // Valid-looking but wrong values: an unknown state is reported as such, a name that is not exactly the VM's
    // is another VM.
    [
      "State in another case",
      running("dev-master", "Running"),
      "unknown",
      /^is Running; tartlab start starts it again/,
      ["VM dev-master is Running; pulumi up will start it again"],
    ],
    [
      "State a number",
      JSON.stringify([{ Name: "dev-master", State: 1 }]),
      "unknown",
      /^is 1; tartlab start/,
      ["VM dev-master is 1; pulumi up will start it again"],
    ],
    ["Name with a trailing space", running("dev-master "), "absent", /^not created/, []],
  ];
  for (const [what, list, state, problem, messages] of rows) {
    test(what, async () => {
      tart({ list });
      const vm = await devMaster();
      assert.equal(vm.state, state);
      assert.equal(vm.problems.length, state === "running" ? 0 : 1, vm.problems.join("; "));
      if (state !== "running") assert.match(vm.problems[0], problem);
      assert.deepEqual((await reviveStoppedVms(config, OWNER, true, env())).messages, messages);
    });
  }
});

describe("tart get --format json and tart ip (a running VM)", () => {
  // [what, get, ip, cpus, ip, problems, notes]
  const rows: [
    string,
    string | undefined,
    string,
    number | undefined,
    string | undefined,
    string[],
    string[],
  ][] = [
    [
      "as printed",
      `{"CPU":${spec.cpus},"Memory":${spec.memoryMb}}\n`,
      "192.168.64.5\n",
      spec.cpus,
      "192.168.64.5",
      [],
      [],
    ],
    [
      "CRLF",
      `{"CPU":${spec.cpus},"Memory":${spec.memoryMb}}\r\n`,
      "192.168.64.5\r\n",
      spec.cpus,
      "192.168.64.5",
      [],
      [],
    ],
    [
      "get: not JSON",
      "Error: VM not found",
      "192.168.64.5",
      undefined,
      "192.168.64.5",
      [],
      ['tart get printed no JSON object: "Error: VM not found"'],
    ],
    [
      "get: empty",
      "",
      "192.168.64.5",
      undefined,
      "192.168.64.5",
      [],
      ['tart get printed no JSON object: ""'],
    ],
    [
      "get: a list",
      "[]",
      "192.168.64.5",
      undefined,
      "192.168.64.5",
      [],
      ['tart get printed no JSON object: "[]"'],
    ],
    [
      "get: wrong types are ignored",
      '{"CPU":"2","Memory":null}',
      "192.168.64.5",
      undefined,
      "192.168.64.5",
      [],
      [],
    ],
    [
      "get: another size is a note",
      `{"CPU":${spec.cpus + 2},"Memory":${spec.memoryMb * 2}}`,
      "192.168.64.5",
      spec.cpus + 2,
      "192.168.64.5",
      [],
      [
        `${spec.cpus + 2} CPUs, config says ${spec.cpus}`,
        `${spec.memoryMb * 2} MB memory, config says ${spec.memoryMb}`,
      ],
    ],
    ["ip: empty", undefined, "", spec.cpus, undefined, ['tart ip printed no IPv4 address ("")'], []],
    [
      "ip: truncated",
      undefined,
      "192.168.64",
      spec.cpus,
      undefined,
      ['tart ip printed no IPv4 address ("192.168.64")'],
      [],
    ],
    [
      "ip: two lines",
      undefined,
      "192.168.64.5\n192.168.64.6\n",
      spec.cpus,
      undefined,
      ['tart ip printed no IPv4 address ("192.168.64.5\\n192.168.64.6")'],
      [],
    ],
    [
      "ip: IPv6",
      undefined,
      "fe80::1\n",
      spec.cpus,
      undefined,
      ['tart ip printed no IPv4 address ("fe80::1")'],
      [],
    ],
  ];
  for (const [what, get, ip, cpus, wantIp, problems, notes] of rows) {
    test(what, async () => {
      tart({ list: running(), get, ip });
      const vm = await devMaster();
      assert.equal(vm.state, "running");
      assert.equal(vm.cpus, cpus);
      assert.equal(vm.ip, wantIp);
      assert.deepEqual(vm.problems, problems);
      assert.deepEqual(vm.notes, notes);
    });
  }
});
