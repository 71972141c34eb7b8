/**
 * The `tartlab` command (ops/cli.ts, ops/tartlab): --help on each subcommand, one usage and exit-code convention,
 * the stack each command acts on, the connect listing, and `tartlab ssh` against a real sshd.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { CliIo, EXIT, runCli } from "../ops/cli";
import { selectedStack } from "../ops/stack";
import { devStackConfig } from "./harness/pulumi";
import { SSH_USER, Sshd, sshdUnavailable, startSshd } from "./harness/sshd";

const ROOT = path.join(__dirname, "..");
const COMMANDS = ["status", "start", "stop", "kubeconfig", "dashboard", "images", "ssh"];

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), "tartlab-cli-"));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A project directory: Pulumi.yaml and the stack file of `stack` with `config`. */
function project(stack: string, config: Record<string, unknown> = devStackConfig()): string {
  const dir = mkdtempSync(path.join(tmp, "project-"));
  writeFileSync(path.join(dir, "Pulumi.yaml"), "name: tartlab\nruntime: nodejs\n");
  writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringify({ config }));
  return dir;
}

/** A PATH directory holding `name` as a shell script. */
function fakeBin(name: string, script: string): string {
  const dir = mkdtempSync(path.join(tmp, "bin-"));
  writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`);
  chmodSync(path.join(dir, name), 0o755);
  return dir;
}

/** The CLI in this process: its exit code and what it wrote. */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let out = "";
  let err = "";
  const io: CliIo = {
    env: { PATH: "/usr/bin:/bin", HOME: tmp, ...env },
    out: (t) => (out += t),
    err: (t) => (err += t),
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe("tartlab: usage, --help and exit codes", () => {
  test("tartlab --help lists every subcommand and the exit codes; no command is a usage error", async () => {
    const help = await cli(["--help"]);
    assert.equal(help.code, EXIT.ok);
    for (const c of COMMANDS) assert.match(help.out, new RegExp(`^  ${c} `, "m"));
    assert.match(help.out, /Exit codes: 0 .*, 1 .*, 2 /);
    const none = await cli([]);
    assert.equal(none.code, EXIT.usage);
    assert.match(none.err, /^usage: tartlab <command>/);
  });

  for (const c of COMMANDS) {
    test(`tartlab ${c} --help: its usage and options, exit 0, no stack needed`, async () => {
      const r = await cli([c, "--help"]);
      assert.equal(r.code, EXIT.ok, r.err);
      assert.match(r.out, new RegExp(`^usage: tartlab ${c} `));
      assert.match(r.out, /--stack <name>/);
      assert.equal(r.err, "");
    });
  }

  test("unknown command, unknown option, missing value, extra argument: exit 2 with the usage", async () => {
    const rows: [string[], RegExp][] = [
      [["pause"], /unknown command pause/],
      [["status", "--frob"], /^unknown argument --frob\nusage: tartlab status /],
      [["status", "--stack"], /--stack needs a value|argument missing/],
      [["status", "extra", "--stack", "x"], /^unexpected argument extra\n/],
      [["ssh", "--stack", "x"], /^missing argument\nusage: tartlab ssh /],
      [["stop", "--timeout", "soon", "--stack", "x"], /--timeout soon is not a number of seconds/],
    ];
    for (const [argv, message] of rows) {
      const r = await cli(argv);
      assert.equal(r.code, EXIT.usage, argv.join(" "));
      assert.match(r.err, message, argv.join(" "));
    }
  });

  test("a stack the config loader refuses: exit 2 naming the stack and the key", async () => {
    const dir = project("bad", { ...devStackConfig(), "tartlab:kubernetesVerison": "1.34" });
    const r = await cli(["kubeconfig", "--stack", "bad", "--dir", dir]);
    assert.equal(r.code, EXIT.usage);
    assert.match(r.err, /^tartlab kubeconfig: stack bad: .*did you mean "tartlab:kubernetesVersion"\?/s);
    const missing = await cli(["status", "--stack", "nope", "--dir", dir]);
    assert.equal(missing.code, EXIT.usage);
    assert.match(missing.err, /no stack file .*Pulumi\.nope\.yaml/);
  });

  test("tartlab images without tart says tart is missing and how to install it", async () => {
    await assert.rejects(
      cli(["images"], { PATH: tmp }),
      /^Error: tart is not on PATH\b.*; install it: brew install/,
    );
  });

  test("package.json's bin is ops/tartlab, and the npm scripts call the same CLI", async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    assert.deepEqual(pkg.bin, { tartlab: "ops/tartlab" });
    for (const c of ["status", "start", "stop", "dashboard", "images", "kubeconfig"]) {
      assert.equal(pkg.scripts[c], `node --import tsx ops/cli.ts ${c}`);
    }
    const r = await run(path.join(ROOT, "ops/tartlab"), ["images", "--help"], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: tartlab images \[prune\]/);
  });
});

describe("tartlab: the stack every command acts on", () => {
  test("--stack, else $TARTLAB_STACK, else pulumi stack --show-name, else Pulumi's workspace file", () => {
    const dir = project("dev");
    const pulumiHome = path.join(tmp, "pulumi-home");
    const hash = createHash("sha1").update(path.join(dir, "Pulumi.yaml")).digest("hex");
    mkdirSync(path.join(pulumiHome, "workspaces"), { recursive: true });
    writeFileSync(
      path.join(pulumiHome, "workspaces", `tartlab-${hash}-workspace.json`),
      JSON.stringify({ stack: "from-workspace" }),
    );
    const cliPath = fakeBin("pulumi", 'echo "my-org/tartlab/from-cli"');
    const base = { PATH: "/usr/bin:/bin", HOME: tmp, PULUMI_HOME: pulumiHome };
    assert.deepEqual(selectedStack(dir, { ...base, TARTLAB_STACK: "env" }, "flag"), { stack: "flag" });
    assert.deepEqual(selectedStack(dir, { ...base, TARTLAB_STACK: "env" }, undefined), { stack: "env" });
    assert.deepEqual(selectedStack(dir, { ...base, PATH: `${cliPath}:/usr/bin:/bin` }, undefined), {
      stack: "from-cli",
    });
    assert.deepEqual(selectedStack(dir, base, undefined), { stack: "from-workspace" });
    const failing = fakeBin("pulumi", "echo 'error: no stack selected' >&2; exit 255");
    assert.deepEqual(selectedStack(dir, { ...base, PATH: `${failing}:/usr/bin:/bin` }, undefined), {
      stack: "from-workspace",
    });
    const none = selectedStack(dir, { PATH: "/usr/bin:/bin", HOME: tmp, PULUMI_HOME: tmp }, undefined);
    assert.ok("problem" in none);
    assert.match(
      none.problem,
      /no stack selected; pass --stack <name>, set TARTLAB_STACK, or run `pulumi stack select/,
    );
  });

  test("tartlab kubeconfig lists the selected stack's contexts, API servers and files", async () => {
    const small = structuredClone(devStackConfig()) as any;
    const dir = project("lab", small);
    const home = path.join(tmp, "tartlab-home");
    mkdirSync(path.join(home, "kube"), { recursive: true });
    writeFileSync(
      path.join(home, "kube", "dev.yaml"),
      stringify({ clusters: [{ name: "tartlab-dev", cluster: { server: "https://192.168.64.7:6443" } }] }),
    );
    const r = await cli(["kubeconfig", "--dir", dir], { TARTLAB_STACK: "lab", TARTLAB_HOME: home });
    assert.equal(r.code, EXIT.ok, r.err);
    const lines = r.out.split("\n");
    assert.match(
      lines.find((l) => l.startsWith("tartlab-dev "))!,
      /https:\/\/192\.168\.64\.7:6443 .*kube\/dev\.yaml$/,
    );
    assert.match(
      lines.find((l) => l.startsWith("tartlab-staging "))!,
      /not created yet: run pulumi up/,
    );
  });
});

/** A process: its exit code and output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end();
  });
}

const why = sshdUnavailable();
if (why && process.env.TARTLAB_REQUIRE_SSHD === "1") throw new Error(`tartlab ssh test cannot run: ${why}`);

describe("tartlab ssh against a real sshd on 127.0.0.1", { skip: why }, () => {
  let sshd: Sshd;
  let dir: string;
  let tartDir: string;
  before(async () => {
    sshd = await startSshd();
    dir = project("test", { ...devStackConfig(), "tartlab:sshUser": SSH_USER });
    // Tart reports the VM's address; here the sshd's.
    tartDir = fakeBin("tart", '[ "$1" = ip ] && [ "$2" = dev-worker1 ] && echo 127.0.0.1 && exit 0; exit 1');
  });
  after(() => sshd?.stop());

  const tartlab = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(path.join(ROOT, "ops/tartlab"), [args[0], "--stack", "test", "--dir", dir, ...args.slice(1)], {
      PATH: `${tartDir}:${process.env.PATH}`,
      ...env,
    });

  test("runs the command on the VM as the lab's user with the key, and exits with its code", async () => {
    const ok = await tartlab(["ssh", "dev-worker1", "--port", String(sshd.port), "--", "id", "-un"], {
      TARTLAB_SSH_KEY: sshd.keyFile,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${SSH_USER}\n`);
    const failed = await tartlab([
      "ssh",
      "dev-worker1",
      "--identity",
      sshd.keyFile,
      "--port",
      String(sshd.port),
      "--",
      "exit 3",
    ]);
    assert.equal(failed.code, 3, failed.stderr);
  });

  test("a VM that is not the stack's, or has no address: refused before ssh runs", async () => {
    const other = await tartlab(["ssh", "someone-else", "--port", String(sshd.port)]);
    assert.equal(other.code, EXIT.usage);
    assert.match(other.stderr, /someone-else is not a VM of stack test \(its VMs: platform-master, /);
    const noIp = await tartlab(["ssh", "dev-master", "--port", String(sshd.port)]);
    assert.equal(noIp.code, EXIT.failed);
    assert.match(noIp.stderr, /VM dev-master has no address .*tartlab start/);
  });
});
