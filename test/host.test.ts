import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HOST_MEMORY_RESERVE_BYTES, HostFacts, checkHost } from "../lib/host";
import { probeHost } from "../mac/host-probe";
import { allNodes, validateLabConfig } from "../lib/lab-config";
import { MAC_FACTS, devRawConfig } from "./harness/pulumi";
import { sandbox } from "./harness/shell";
import { chmodSync, chownSync, renameSync, symlinkSync } from "node:fs";
import * as path from "node:path";

const lab = validateLabConfig(devRawConfig()).config;

describe("host preflight rules", () => {
  test("a Mac that fits the default lab passes", () => {
    assert.deepEqual(checkHost(MAC_FACTS, lab), { problems: [], warnings: [] });
  });

  test("a figure facts.sh could not read is a warning naming it, not a silently skipped check", () => {
    const r = checkHost({ ...MAC_FACTS, memoryBytes: NaN, cpus: NaN, freeDiskBytes: NaN }, lab);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, [
      "could not read this Mac's memory (sysctl hw.memsize); that preflight check was skipped",
      "could not read this Mac's CPU count (sysctl hw.ncpu); that preflight check was skipped",
      "could not read this Mac's free disk where Tart keeps VMs (df -Pk); that preflight check was skipped",
    ]);
    assert.deepEqual(checkHost({ ...MAC_FACTS, cpus: NaN }, lab).warnings, [
      "could not read this Mac's CPU count (sysctl hw.ncpu); that preflight check was skipped",
    ]);
  });

  const rows: [string, Partial<HostFacts>, string][] = [
    [
      "Intel Mac (V01)",
      { arch: "x86_64" },
      "host architecture is x86_64, not arm64: the lab's arm64 images need Apple Silicon",
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
      'softnet (/opt/homebrew/bin/softnet) needs root but is not SUID-root (no SUID bit) and sudo asks for a password; once per install run: S=$(realpath "$(which softnet)"); sudo chown root "$S" && sudo chmod u+s "$S"',
    ],
    [
      "softnet SUID but not owned by root (Tart checks both; softnet checks euid 0)",
      { softnetSuid: true, softnetRootOwned: false, passwordlessSudo: false },
      'softnet (/opt/homebrew/bin/softnet) needs root but is not SUID-root (not owned by root) and sudo asks for a password; once per install run: S=$(realpath "$(which softnet)"); sudo chown root "$S" && sudo chmod u+s "$S"',
    ],
    [
      "too little memory",
      { memoryBytes: 16 * 2 ** 30 },
      'the 7 VMs need 28 GiB of memory and tartlab keeps 4 GiB free for macOS (32 GiB in all), but this Mac has 16 GiB, 16 GiB short; lower memoryMb in tartlab:clusters or remove nodes; or use the laptop lab (one cluster, 2 VMs, 7 GiB, Jenkins on it), the stack "small" whose config Pulumi reads from Pulumi.small.yaml: pulumi stack select --create small && pulumi up',
    ],
    [
      "Tart older than 2.28.3 (its tart exec traps when stdout is not a terminal)",
      { tartVersion: "2.28.2" },
      "tart 2.28.2 is older than 2.28.3, the first whose `tart exec` works without a terminal (tartlab runs it for every VM); upgrade: brew upgrade cirruslabs/cli/tart",
    ],
    [
      "Tart 2.27.1 (every tart exec cut off after 1 s)",
      { tartVersion: "2.27.1" },
      "tart 2.27.1 is older than 2.28.3, the first whose `tart exec` works without a terminal (tartlab runs it for every VM); upgrade: brew upgrade cirruslabs/cli/tart",
    ],
    [
      "macOS older than 14 (tart exec refuses to run there)",
      { macosVersion: "13.6.1" },
      "macOS 13.6.1 is older than 14 (Sonoma), whose `tart exec` tartlab needs; upgrade macOS",
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

  test("Tart 2.28.3 itself, and newer, pass; an unreadable version only warns", () => {
    for (const tartVersion of ["2.28.3", "2.32.1", "3.0.0"]) {
      assert.deepEqual(checkHost({ ...MAC_FACTS, tartVersion }, lab).problems, [], tartVersion);
    }
    const r = checkHost({ ...MAC_FACTS, tartVersion: "dev" }, lab);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, [
      'could not read a version from `tart --version` ("dev"); tartlab needs 2.28.3+',
    ]);
  });

  test("macOS 14 itself, and newer, pass; an unreadable macOS version only warns; not asked off a Mac", () => {
    for (const macosVersion of ["14.0", "14", "15.5", "26.0.1"]) {
      assert.deepEqual(
        checkHost({ ...MAC_FACTS, macosVersion }, lab),
        { problems: [], warnings: [] },
        macosVersion,
      );
    }
    const r = checkHost({ ...MAC_FACTS, macosVersion: "" }, lab);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, [
      'could not read the macOS version (sw_vers -productVersion: ""); tartlab needs macOS 14+',
    ]);
    const linux = checkHost({ ...MAC_FACTS, os: "Linux", macosVersion: "" }, lab);
    assert.ok(!linux.problems.concat(linux.warnings).some((m) => m.includes("macOS version")));
  });

  describe("memory: exactly at the limit passes, one byte under fails (GiB, as macOS and Tart count)", () => {
    const need =
      allNodes(lab).reduce((s, { node }) => s + node.memoryMb * 2 ** 20, 0) + HOST_MEMORY_RESERVE_BYTES;
    const memProblems = (memoryBytes: number) =>
      checkHost({ ...MAC_FACTS, memoryBytes }, lab).problems.filter((p) => p.includes("of memory"));
    test("exactly the VMs plus the reserve", () => assert.deepEqual(memProblems(need), []));
    test("a 32 GiB Mac passes the default lab and keeps 4 GiB for macOS", () => {
      const mac = 32 * 2 ** 30;
      assert.deepEqual(memProblems(mac), []);
      const vms = allNodes(lab).reduce((s, { node }) => s + node.memoryMb * 2 ** 20, 0);
      assert.equal(mac - vms, HOST_MEMORY_RESERVE_BYTES, "what the VMs leave is the reserve");
      assert.ok(HOST_MEMORY_RESERVE_BYTES >= 4 * 2 ** 30, "macOS keeps at least 4 GiB");
    });
    test("one byte over", () => assert.deepEqual(memProblems(need + 1), []));
    test("one byte under: the Mac's figure rounds down, never reading as enough", () => {
      assert.deepEqual(memProblems(need - 1), [
        `the 7 VMs need 28 GiB of memory and tartlab keeps 4 GiB free for macOS (32 GiB in all), but this Mac has 31.9 GiB, 0.1 GiB short; lower memoryMb in tartlab:clusters or remove nodes; or use the laptop lab (one cluster, 2 VMs, 7 GiB, Jenkins on it), the stack "small" whose config Pulumi reads from Pulumi.small.yaml: pulumi stack select --create small && pulumi up`,
      ]);
      assert.equal(need, 32 * 2 ** 30, "the dev lab needs 28 GiB of VMs");
    });
  });

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
  /** facts.sh on a fake Mac whose softnet is `mode`, owned by `uid`. */
  const softnetFacts = (mode: number, uid: number) => {
    const sb = sandbox();
    try {
      sb.fake("uname", '[ "$1" = -s ] && echo Darwin || echo arm64');
      sb.fake("sysctl", '[ "$2" = hw.memsize ] && echo 68719476736 || echo 12');
      sb.fake("tart", "echo 2.32.1");
      sb.fake("sudo", "exit 1");
      sb.fake("softnet", "exit 0");
      const real = path.join(sb.dir, "Cellar-softnet");
      renameSync(path.join(sb.bin, "softnet"), real);
      symlinkSync(real, path.join(sb.bin, "softnet")); // Homebrew's bin is a symlink into the Cellar
      chownSync(real, uid, uid); // before chmod: chown clears the SUID bit
      chmodSync(real, mode);
      const f = probeHost({
        PATH: `${sb.bin}:/usr/bin:/bin`,
        HOME: sb.home,
        FAKE_CALLS: path.join(sb.dir, "calls.log"),
        ...sb.traceEnv("host/facts.sh"),
      });
      return { softnetSuid: f.softnetSuid, softnetRootOwned: f.softnetRootOwned };
    } finally {
      sb.dispose();
    }
  };
  const asRoot = process.getuid?.() === 0;

  test(
    "softnet SUID and owned by root (through the Homebrew symlink)",
    { skip: !asRoot && "needs root to chown" },
    () => {
      assert.deepEqual(softnetFacts(0o4755, 0), { softnetSuid: true, softnetRootOwned: true });
      assert.equal(
        checkHost({ ...MAC_FACTS, ...softnetFacts(0o4755, 0), passwordlessSudo: false }, lab).problems.length,
        0,
      );
    },
  );

  test(
    "softnet SUID but owned by another user is refused",
    { skip: !asRoot && "needs root to chown" },
    () => {
      const f = softnetFacts(0o4755, 65534);
      assert.deepEqual(f, { softnetSuid: true, softnetRootOwned: false });
      assert.match(
        checkHost({ ...MAC_FACTS, ...f, passwordlessSudo: false }, lab).problems.join("\n"),
        /not owned by root/,
      );
    },
  );

  test("softnet owned by root without the SUID bit", { skip: !asRoot && "needs root to chown" }, () => {
    assert.deepEqual(softnetFacts(0o755, 0), { softnetSuid: false, softnetRootOwned: true });
  });

  test("on a (fake) Mac: reads tart, softnet SUID, memory, CPUs and free disk", () => {
    const sb = sandbox();
    try {
      sb.fake("uname", '[ "$1" = -s ] && echo Darwin || echo arm64');
      sb.fake("sysctl", '[ "$2" = hw.memsize ] && echo 68719476736 || echo 12');
      sb.fake("sw_vers", '[ "$1" = -productVersion ] && echo 15.5');
      sb.fake("tart", "echo 2.32.1");
      sb.fake("softnet", "exit 0");
      sb.fake("sudo", "exit 1");
      sb.fake(
        "df",
        'printf "Filesystem 1024-blocks Used Available Capacity Mounted on\\n/dev/disk3s5 971350180 500000000 400000000 56%% /System/Volumes/Data\\n"',
      );
      const facts = probeHost({
        PATH: `${sb.bin}:/usr/bin:/bin`,
        HOME: sb.home,
        FAKE_CALLS: path.join(sb.dir, "calls.log"),
        ...sb.traceEnv("host/facts.sh"),
      });
      assert.deepEqual(facts, {
        os: "Darwin",
        arch: "arm64",
        macosVersion: "15.5",
        tart: path.join(sb.bin, "tart"),
        tartVersion: "2.32.1",
        softnet: path.join(sb.bin, "softnet"),
        softnetSuid: false,
        softnetRootOwned: process.getuid?.() === 0,
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
