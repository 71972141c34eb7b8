/**
 * T09: the drift check before the graph (mac/drift.ts), run against the fake tart (test/fakes/tart) with
 * the real scripts/tart-vm scripts. Every test asserts effects: the fake VMs' state files (state, ip, pid,
 * stopped_by, guest/) and the files on the "Mac" (~/.tartlab/vms/<vm>.ip, ~/.tartlab/clusters/<c>.repairs).
 * sshd is a probe the tests inject; the real probe is tested against loopback TCP servers at the end.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { DriftDeps, checkDrift, sshBanner, waitForSsh } from "../mac/drift";
import { allNodes, validateLabConfig } from "../lib/lab-config";
import { startEnv } from "../mac/vm-scripts";
import { devRawConfig } from "./harness/pulumi";
import { QUICK_MAC, Sandbox } from "./harness/shell";
import { tartEnv, tartSandbox, tartVm } from "./harness/tart-mac";

const config = validateLabConfig(devRawConfig()).config;
const OWNER = "tartlab/dev";

let sb: Sandbox;
beforeEach(() => {
  sb = tartSandbox();
});
afterEach(() => sb.dispose());

const tartDir = (name: string) => path.join(sb.dir, "tart", name);
const fakeFile = (name: string, f: string) => {
  try {
    return readFileSync(path.join(tartDir(name), f), "utf8").trim();
  } catch {
    return undefined;
  }
};
const macFile = (rel: string) => {
  try {
    return readFileSync(path.join(sb.home, ".tartlab", rel), "utf8").trim();
  } catch {
    return undefined;
  }
};
const writeMac = (rel: string, text: string) => {
  mkdirSync(path.dirname(path.join(sb.home, ".tartlab", rel)), { recursive: true });
  writeFileSync(path.join(sb.home, ".tartlab", rel), `${text}\n`);
};

const env = (extra: Record<string, string> = {}) => ({
  ...tartEnv(sb),
  ...QUICK_MAC,
  ...extra,
});

/** A stopped fake VM, marked as made by `owner` (none: a VM tartlab did not make). */
const vm = (name: string, owner?: string) => tartVm(sb, name, { state: "stopped", disk: 20 }, owner);

/** A fake VM running with the DHCP lease `lease`, started as tartlab starts it (start.sh: a detached `tart run`). */
async function running(name: string, lease: string, owner: string | null = OWNER) {
  vm(name, owner ?? undefined);
  writeFileSync(path.join(tartDir(name), "lease"), `${lease}\n`);
  const node = allNodes(config).find((n) => n.node.name === name)!.node;
  const r = await sb.run({
    script: "tart-vm/start.sh",
    env: startEnv({ ...node, softnetAllow: config.softnetAllow, ipWaitSeconds: config.ipWaitSeconds }),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fakeFile(name, "ip"), lease, `fake VM ${name} started`);
}

/**
 * sshd answers everywhere, unless a test says otherwise. An address that is not there is not waited for (0: one
 * look; start.sh has waited for the lease already). A guest agent has 60 s, which only a hung one uses up.
 */
const deps = (d: DriftDeps = {}): DriftDeps => ({
  sshAnswers: () => Promise.resolve(true),
  addressWaitSeconds: 0,
  guestExecSeconds: 60,
  gracefulStopSeconds: 60,
  stopTimeoutSeconds: 5,
  ...d,
});

const up = (e = env(), d = deps(), c = config) => checkDrift(c, OWNER, false, e, d);
const preview = (e = env(), d = deps()) => checkDrift(config, OWNER, true, e, d);

/** Every file of the fake Tart and of ~/.tartlab, with its content: what "changes nothing" compares. */
function snapshot(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(sb.dir, p)] = readFileSync(p, "utf8");
    }
  };
  walk(path.join(sb.dir, "tart"));
  walk(sb.home);
  return out;
}

describe("the drift check repairs this stack's VMs before the graph (up)", () => {
  test("a stopped VM is started, proven (identity marker), its address recorded, its cluster's counter +1", async () => {
    vm("dev-master", OWNER);
    const r = await up();
    assert.equal(fakeFile("dev-master", "state"), "running");
    assert.equal(fakeFile("dev-master", "guest/etc/tartlab/vm-name"), "dev-master");
    assert.equal(macFile("vms/dev-master.ip"), "192.168.64.10");
    assert.equal(macFile("clusters/dev.repairs"), "1");
    assert.deepEqual(r.addresses, { "dev-master": "192.168.64.10" });
    assert.deepEqual(r.repairs, { dev: 1 });
    assert.deepEqual(r.messages, ["VM dev-master was stopped; started it again at 192.168.64.10"]);

    // A second run finds nothing to repair and keeps the count (the Ready check's input stays the same).
    const again = await up();
    assert.deepEqual(again, {
      addresses: { "dev-master": "192.168.64.10" },
      repairs: { dev: 1 },
      messages: [],
    });
    assert.equal(macFile("clusters/dev.repairs"), "1");
  });

  test("running without an IP (the lease is lost): stopped gracefully, started, address read again", async () => {
    await running("dev-master", "192.168.64.20");
    const pid = fakeFile("dev-master", "pid");
    writeMac("clusters/dev.repairs", "2");
    writeFileSync(path.join(tartDir("dev-master"), "lease"), "192.168.64.21\n");
    rmSync(path.join(tartDir("dev-master"), "ip"));
    const r = await up();
    assert.equal(fakeFile("dev-master", "stopped_by"), "guest", "stopped through the guest, not forced");
    assert.equal(fakeFile("dev-master", "state"), "running");
    assert.notEqual(fakeFile("dev-master", "pid"), pid, "a new tart run");
    assert.equal(macFile("vms/dev-master.ip"), "192.168.64.21");
    assert.equal(macFile("clusters/dev.repairs"), "3");
    assert.deepEqual(r.repairs, { dev: 3 });
    assert.deepEqual(r.addresses, { "dev-master": "192.168.64.21" });
    assert.match(
      r.messages[0],
      /^VM dev-master does not answer through Tart \(address\.sh: tartlab: VM "dev-master" got no IP address within 0s[\s\S]*; restarted it \(graceful stop, then forced; then start\) at 192\.168\.64\.21$/,
    );
  });

  test("running, the IP answers but sshd does not: restarted, and then SSH answers", async () => {
    await running("dev-master", "192.168.64.20");
    await running("dev-worker1", "192.168.64.22");
    const pid = fakeFile("dev-master", "pid");
    // sshd of dev-master hangs until that VM boots again (a new tart run process).
    const sshAnswers = (ip: string) =>
      Promise.resolve(ip !== "192.168.64.20" || fakeFile("dev-master", "pid") !== pid);
    const r = await up(env(), deps({ sshAnswers }));
    assert.equal(fakeFile("dev-master", "stopped_by"), "guest");
    assert.notEqual(fakeFile("dev-master", "pid"), pid);
    assert.equal(fakeFile("dev-worker1", "stopped_by"), undefined, "the healthy VM is left running");
    assert.deepEqual(r.repairs, { dev: 1 });
    assert.deepEqual(r.addresses, { "dev-master": "192.168.64.20", "dev-worker1": "192.168.64.22" });
    assert.match(r.messages[0], /^VM dev-master does not answer SSH at 192\.168\.64\.20:22 .*; restarted it/);
  });

  test("a hung guest agent (tart exec never returns): forced off after the graceful attempt, started", async () => {
    await running("dev-master", "192.168.64.20");
    writeFileSync(path.join(tartDir("dev-master"), "agent_hung"), "");
    // The one deadline here that must pass (twice: address.sh, then stop.sh's poweroff request); 0 would also cut
    // off the exec after the restart, which must answer. Whole seconds: the exec has 1 s at least.
    const r = await up(env(), deps({ guestExecSeconds: 2 }));
    assert.equal(fakeFile("dev-master", "stopped_by"), "forced");
    assert.equal(fakeFile("dev-master", "state"), "running");
    assert.equal(fakeFile("dev-master", "guest/etc/tartlab/vm-name"), "dev-master");
    assert.deepEqual(r.repairs, { dev: 1 });
    assert.match(r.messages[0], /did not answer tart exec within 2s \(its guest agent is hung\)/);
  });

  for (const [vmName, role] of [
    [
      "dev-master",
      /the control plane's re-addressing .* provider endpoint of cluster dev .*every worker's join/,
    ],
    ["dev-worker1", /: its node steps and its join \(kubelet's node-ip\) in cluster dev$/],
  ] as const) {
    test(`${vmName}'s address changed: reported with what re-runs, the new one recorded and handed to the graph`, async () => {
      await running(vmName, "192.168.64.30");
      writeMac(`vms/${vmName}.ip`, "192.168.64.11");
      const p = await preview();
      assert.deepEqual(p.addresses, { [vmName]: "192.168.64.30" });
      assert.equal(macFile(`vms/${vmName}.ip`), "192.168.64.11", "preview records nothing");
      const r = await up();
      for (const x of [p, r]) {
        assert.equal(x.messages.length, 1);
        assert.match(
          x.messages[0],
          new RegExp(
            `^VM ${vmName}'s address changed from 192\\.168\\.64\\.11 to 192\\.168\\.64\\.30; pulumi up follows it: `,
          ),
        );
        assert.match(x.messages[0], role);
        assert.deepEqual(x.repairs, {}, "a new address alone is no repair");
      }
      assert.deepEqual(r.addresses, { [vmName]: "192.168.64.30" });
      assert.equal(macFile(`vms/${vmName}.ip`), "192.168.64.30");
      assert.equal(fakeFile(vmName, "stopped_by"), undefined, "not restarted");
    });
  }

  test("two VMs of this stack at one address: refused with both names, before any VM is touched", async () => {
    await running("dev-master", "192.168.64.40");
    await running("dev-worker1", "192.168.64.40");
    vm("staging-master", OWNER); // stopped: would be started
    const before = snapshot();
    for (const run of [preview, up]) {
      await assert.rejects(
        run(),
        /^Error: VMs dev-master and dev-worker1 both report the address 192\.168\.64\.40 \(tart ip\); tartlab does not guess/,
      );
    }
    assert.deepEqual(snapshot(), before, "no VM started, no marker, no address or counter written");
  });

  test("another stack's VMs (and VMs tartlab did not make) are never touched nor counted", async () => {
    vm("dev-master", "someone/else");
    await running("dev-worker1", "192.168.64.50", "someone/else");
    rmSync(path.join(tartDir("dev-worker1"), "ip"));
    await running("staging-master", "192.168.64.51", null);
    await running("staging-worker1", "192.168.64.51"); // ours, at the address a foreign VM also reports
    const before = snapshot();
    const r = await up();
    assert.deepEqual(r.addresses, { "staging-worker1": "192.168.64.51" });
    assert.deepEqual(r.repairs, {});
    const after = snapshot();
    for (const f of Object.keys(before).filter((f) => !f.includes("staging-worker1"))) {
      assert.equal(after[f], before[f], `${f} unchanged`);
    }
    assert.equal(fakeFile("dev-master", "state"), "stopped");
    assert.equal(fakeFile("dev-worker1", "stopped_by"), undefined);
  });

  test("preview changes nothing and says per finding what up will do (and the counts up would leave)", async () => {
    vm("dev-master", OWNER); // stopped
    await running("dev-worker1", "192.168.64.61");
    rmSync(path.join(tartDir("dev-worker1"), "ip")); // no IP
    await running("staging-master", "192.168.64.62");
    writeMac("vms/staging-master.ip", "192.168.64.12"); // changed
    await running("staging-worker1", "192.168.64.63"); // sshd dead
    await running("platform-master", "192.168.64.64"); // fine
    writeMac("clusters/dev.repairs", "2");
    writeMac("clusters/platform.repairs", "1");
    const before = snapshot();
    const callsBefore = sb.calls().length;
    const r = await preview(env(), deps({ sshAnswers: (ip) => Promise.resolve(ip !== "192.168.64.63") }));
    assert.deepEqual(snapshot(), before, "fake Tart and ~/.tartlab unchanged");
    assert.deepEqual(r.addresses, { "platform-master": "192.168.64.64", "staging-master": "192.168.64.62" });
    assert.deepEqual(r.repairs, { platform: 1, dev: 4, staging: 1 });
    assert.deepEqual(r.messages, [
      "VM dev-master is stopped; pulumi up will start it again",
      "VM dev-worker1 is running but has no IP address (tart ip); pulumi up will restart it (graceful stop, then " +
        "forced; then start) and read its address again",
      r.messages[2],
      "VM staging-worker1 is running but does not answer SSH at 192.168.64.63:22 (no SSH banner in time); pulumi " +
        "up will restart it (graceful stop, then forced; then start) and read its address again",
    ]);
    assert.match(
      r.messages[2],
      /^VM staging-master's address changed from 192\.168\.64\.12 to 192\.168\.64\.62;/,
    );
    const calls = sb.calls().slice(callsBefore);
    assert.ok(!calls.some((c) => /^tart (run|stop|exec|set)/.test(c)), calls.join("\n"));
  });

  test("removing a cluster, kept: this stack's stopped VM that the config no longer lists is started for its removal", async () => {
    vm("qa-master", OWNER);
    const r = await up();
    assert.equal(fakeFile("qa-master", "state"), "running");
    assert.match(
      r.messages[0],
      /^VM qa-master was stopped; started it again at .* \(it is no longer in the config/,
    );
    assert.deepEqual(r.repairs, {}, "no configured cluster to count it for");
  });
});

describe("what the drift check cannot repair stops up with what it tried and what to do", () => {
  test("a VM that still gets no IP after a restart: start.sh's error, and how to go on", async () => {
    await running("dev-master", "192.168.64.20");
    await assert.rejects(
      up(env({ FAKE_TART_NO_IP: "1" }), deps(), { ...config, ipWaitSeconds: 0 }),
      (e: Error) =>
        /^VM dev-master does not answer through Tart \(address\.sh: .*got no IP address/.test(e.message) &&
        /tartlab tried to restart it and start\.sh failed:\n.*got no IP address within 0s/.test(e.message) &&
        /rebuild it \(pulumi up --replace on its dev-master-clone resource\)$/.test(e.message),
    );
    assert.equal(fakeFile("dev-master", "stopped_by"), "guest", "the restart was tried");
  });

  test("a guest agent that keeps failing after a restart: the VM, both findings and what to look at", async () => {
    await running("dev-master", "192.168.64.20");
    await assert.rejects(
      up(env({ FAKE_TART_EXEC_FAIL: "1" })),
      (e: Error) =>
        /^VM dev-master does not answer through Tart \(address\.sh: .*could not write its identity marker/.test(
          e.message,
        ) &&
        /tartlab restarted it \(stop\.sh: guest poweroff, then tart stop; start\.sh\) and it still does not answer through Tart/.test(
          e.message,
        ) &&
        e.message.includes(`Look at its boot log (${path.join(sb.home, ".tartlab/logs/dev-master.log")})`),
    );
    assert.equal(fakeFile("dev-master", "stopped_by"), "forced", "no guest agent: forced off");
    assert.equal(fakeFile("dev-master", "state"), "running", "started again");
  });

  test("a VM that cannot be stopped for its restart: stop.sh's error, and how to go on", async () => {
    await running("dev-master", "192.168.64.20");
    await assert.rejects(
      up(
        env({ FAKE_TART_GUEST_IGNORES_POWEROFF: "1", FAKE_TART_STOP_FAIL: "1" }),
        deps({ sshAnswers: () => Promise.resolve(false), gracefulStopSeconds: 0 }),
      ),
      /^Error: VM dev-master does not answer SSH at 192\.168\.64\.20:22 .*; tartlab tried to restart it and stop\.sh failed:\n[\s\S]*is still running after a guest poweroff and tart stop[\s\S]*Restart it by hand \(tart stop dev-master; pulumi up starts it again\)/,
    );
    assert.equal(fakeFile("dev-master", "state"), "running");
  });

  test("sshd that never answers, even after a restart", async () => {
    await running("dev-master", "192.168.64.20");
    await assert.rejects(
      up(env(), deps({ sshAnswers: () => Promise.resolve(false) })),
      /^Error: VM dev-master does not answer SSH at 192\.168\.64\.20:22 .*and it still does not answer SSH at 192\.168\.64\.20:22/,
    );
  });

  test("a stopped VM that cannot start: revive's error with its log", async () => {
    vm("dev-master", OWNER);
    await assert.rejects(
      up(env({ FAKE_TART_RUN_FAIL: "1" })),
      // start.sh reports a dead `tart run` or, on a loaded machine, its IP deadline first: the log's tail either way.
      /VM dev-master was stopped and could not be started again:[\s\S]*softnet not found in PATH/,
    );
  });

  test("a repair counter that is not a number: the file, its content and the fix", async () => {
    writeMac("clusters/dev.repairs", "lots");
    await assert.rejects(preview(), /dev\.repairs holds "lots", not a repair count; .*delete the file/);
  });

  test("tart list unreadable: a message, the stored counts kept, nothing else", async () => {
    writeMac("clusters/staging.repairs", "5");
    sb.fake("tart", 'echo "Error: boom" >&2; exit 1');
    assert.deepEqual(await up(), {
      addresses: {},
      repairs: { staging: 5 },
      messages: [
        "could not read Tart's VM list (drift check skipped; each VM's address step reads it): tart list " +
          "exited with 1: Error: boom",
      ],
    });
  });
});

describe("the SSH probe (real TCP on loopback)", () => {
  /** A loopback server that does `onConnection` with each socket; resolves to its port. */
  async function server(onConnection: (s: net.Socket, n: number) => void): Promise<[net.Server, number]> {
    let n = 0;
    const srv = net.createServer((s) => {
      s.on("error", () => undefined);
      onConnection(s, ++n);
    });
    await new Promise<void>((res) => srv.listen(0, "127.0.0.1", res));
    return [srv, (srv.address() as net.AddressInfo).port];
  }
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((res) => s.close(res))));
  });
  const serve = async (f: (s: net.Socket, n: number) => void) => {
    const [srv, port] = await server((s, n) => {
      sockets.push(s);
      f(s, n);
    });
    servers.push(srv);
    return port;
  };

  test("an SSH banner: answers", async () => {
    const port = await serve((s) => s.write("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"));
    assert.equal(await sshBanner("127.0.0.1", port, 5_000), true);
  });

  test("other lines before the banner (RFC 4253 §4.2), in pieces: answers", async () => {
    const port = await serve((s) => {
      s.write("welcome\r\nSS");
      setTimeout(() => s.write("H-2.0-x\r\n"), 50);
    });
    assert.equal(await sshBanner("127.0.0.1", port, 5_000), true);
  });

  test("a server that says nothing: no answer within the deadline", async () => {
    const port = await serve(() => undefined);
    assert.equal(await sshBanner("127.0.0.1", port, 50), false);
  });

  test("a server that is not sshd, and one that hangs up: no answer", async () => {
    const http = await serve((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    assert.equal(await sshBanner("127.0.0.1", http, 5_000), false);
    const hangup = await serve((s) => s.destroy());
    assert.equal(await sshBanner("127.0.0.1", hangup, 5_000), false);
  });

  test("a closed port: no answer, and the retries end", async () => {
    const [srv, port] = await server(() => undefined);
    await new Promise((res) => srv.close(res));
    assert.equal(await sshBanner("127.0.0.1", port, 5_000), false);
    assert.equal(await waitForSsh("127.0.0.1", { port, attemptMs: 200, totalMs: 100, pauseMs: 10 }), false);
  });

  test("sshd that starts late (first connections hang up): retried until it answers", async () => {
    const port = await serve((s, n) => (n < 3 ? s.destroy() : s.write("SSH-2.0-late\r\n")));
    assert.equal(
      await waitForSsh("127.0.0.1", { port, attemptMs: 1_000, totalMs: 20_000, pauseMs: 50 }),
      true,
    );
  });
});
