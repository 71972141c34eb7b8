import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HostFacts, checkHost, parseHostFacts } from "../lib/host";
import { validateLabConfig } from "../lib/lab-config";
import { MAC_FACTS, devRawConfig } from "./harness/pulumi";
import { sandbox } from "./harness/shell";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { SCRIPTS_DIR } from "../lib/shell";

const lab = validateLabConfig(devRawConfig()).config;

describe("host preflight rules", () => {
  test("a Mac that fits the default lab passes", () => {
    assert.deepEqual(checkHost(MAC_FACTS, lab), { problems: [], warnings: [] });
  });

  const rows: [string, Partial<HostFacts>, string][] = [
    [
      "Intel Mac (V01)",
      { arch: "x86_64" },
      "host architecture is x86_64, not arm64 (V01): the lab's arm64 images need Apple Silicon",
    ],
    [
      "Linux host",
      { os: "Linux" },
      "host OS is Linux, not macOS: tartlab runs Tart VMs on an Apple Silicon Mac",
    ],
    ["no tart", { tart: "" }, "tart is not on PATH; install it: brew install cirruslabs/cli/tart"],
    [
      "tart present but broken",
      { tartVersion: "" },
      "tart (/opt/homebrew/bin/tart) is on PATH but `tart --version` fails; reinstall: brew reinstall cirruslabs/cli/tart",
    ],
    [
      "no softnet",
      { softnet: "" },
      "softnet is not on PATH; install it: brew install cirruslabs/cli/softnet",
    ],
    [
      "softnet without root",
      { softnetSuid: false, passwordlessSudo: false },
      'softnet (/opt/homebrew/bin/softnet) needs root but is not SUID-root and sudo asks for a password; once per install run: S=$(realpath "$(which softnet)"); sudo chown root "$S" && sudo chmod u+s "$S"',
    ],
    [
      "too little memory",
      { memoryBytes: 16 * 2 ** 30 },
      "the 7 VMs need 30 GB of memory plus 4 GB for macOS, but this Mac has 17 GB; lower memoryMb in tartlab:clusters or remove nodes",
    ],
    ["too few CPUs", { cpus: 1 }, "node platform-master asks for 2 CPUs but this Mac has 1; lower its cpus"],
    [
      "disk nearly full",
      { freeDiskBytes: 20e9 },
      "only 20 GB free disk; 7 VMs need at least 45 GB; free space (tart prune --entries caches) or remove nodes",
    ],
  ];
  for (const [title, change, expected] of rows) {
    test(`refuses: ${title}`, () => {
      assert.ok(
        checkHost({ ...MAC_FACTS, ...change }, lab).problems.includes(expected),
        JSON.stringify(checkHost({ ...MAC_FACTS, ...change }, lab).problems),
      );
    });
  }

  test("passwordless sudo is enough for softnet", () => {
    assert.deepEqual(
      checkHost({ ...MAC_FACTS, softnetSuid: false, passwordlessSudo: true }, lab).problems,
      [],
    );
  });

  test("disks that could outgrow free space only warn (they are sparse)", () => {
    const r = checkHost({ ...MAC_FACTS, freeDiskBytes: 100e9 }, lab);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, [
      "VM disks may grow to 190 GB in all but only 100 GB is free; disks are sparse, so this is fine until they fill up",
    ]);
  });
});

describe("scripts/host/facts.sh", () => {
  test("on a (fake) Mac: reads tart, softnet SUID, memory, CPUs and free disk", () => {
    const sb = sandbox();
    try {
      sb.fake("uname", '[ "$1" = -s ] && echo Darwin || echo arm64');
      sb.fake("sysctl", '[ "$2" = hw.memsize ] && echo 68719476736 || echo 12');
      sb.fake("tart", "echo 2.32.1");
      sb.fake("softnet", "exit 0");
      sb.fake("sudo", "exit 1");
      sb.fake(
        "df",
        'printf "Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/disk3s5 971350180 500000000 400000000 56%% /System/Volumes/Data\\n"',
      );
      const out = execFileSync("bash", [path.join(SCRIPTS_DIR, "host", "facts.sh")], {
        encoding: "utf8",
        env: { PATH: `${sb.bin}:/usr/bin:/bin`, HOME: sb.home, FAKE_CALLS: path.join(sb.dir, "calls.log") },
      });
      const facts = parseHostFacts(out);
      assert.deepEqual(facts, {
        os: "Darwin",
        arch: "arm64",
        tart: path.join(sb.bin, "tart"),
        tartVersion: "2.32.1",
        softnet: path.join(sb.bin, "softnet"),
        softnetSuid: false,
        passwordlessSudo: false,
        memoryBytes: 68719476736,
        cpus: 12,
        freeDiskBytes: 400000000 * 1024,
      });
    } finally {
      sb.dispose();
    }
  });
});
