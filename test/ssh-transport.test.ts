/**
 * T01 against a real OpenSSH server: the exact stdin bundle a remote.Command sends arrives verbatim, inputs full
 * of quotes, $, backslashes and newlines keep their exact values, through `sudo -n bash -s` as on the VMs.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bundle, scriptCommand } from "../lib/shell";
import { ECHO_ENV_SCRIPT, NASTY_VALUES } from "./fixtures/nasty";
import { SSH_USER, Sshd, sshdUnavailable, startSshd } from "./harness/sshd";

const why = sshdUnavailable();
// In CI the server must be there: a skip would hide a broken transport test.
if (why && process.env.TARTLAB_REQUIRE_SSHD === "1")
  throw new Error(`real-sshd transport test cannot run: ${why}`);

describe("remote script transport over a real sshd on 127.0.0.1", { skip: why }, () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(() => sshd?.stop());

  const ECHO_ENV_SCRIPT_AS_ROOT = `${ECHO_ENV_SCRIPT}id -un >&2\n`;

  test("inputs arrive exactly, as root through sudo -n, with the create command string remote.Command uses", () => {
    const command = scriptCommand({ create: "tart-vm/stop.sh", env: {}, sudo: true }).create;
    assert.equal(command, "sudo -n bash -s -- create");
    const r = sshd.exec(command, bundle({ create: ECHO_ENV_SCRIPT_AS_ROOT }, NASTY_VALUES));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), NASTY_VALUES);
    assert.equal(r.stderr.trim(), "root");
  });

  test("without sudo the script runs as the login user", () => {
    const r = sshd.exec("bash -s -- create", bundle({ create: "id -un\n" }, {}));
    assert.equal(r.stdout.trim(), SSH_USER);
  });

  test("the delete script of the same bundle runs for `delete`", () => {
    const text = bundle({ create: "echo made\n", delete: 'echo "gone $WHAT"\n' }, { WHAT: "it's $gone" });
    assert.equal(sshd.exec("sudo -n bash -s -- delete", text).stdout, "gone it's $gone\n");
  });

  test("a failing remote script fails with its exit code and message", () => {
    const r = sshd.exec(
      "sudo -n bash -s -- create",
      bundle({ create: 'echo "boom: $X" >&2; exit 3\n' }, { X: "a'b" }),
    );
    assert.equal(r.status, 3);
    assert.equal(r.stderr, "boom: a'b\n");
  });

  test("why not `environment`: sshd drops variables it does not AcceptEnv (facts/pulumi.md §1.4)", () => {
    const r = sshd.exec('printf "%s" "${TARTLAB_PROBE:-unset}"', "", ["-o", "SetEnv=TARTLAB_PROBE=x"]);
    assert.equal(r.stdout, "unset");
  });
});
