/**
 * Changed addresses, the graph side (under mocks): the lab follows the addresses the drift check reports (TartVm.ip, so
 * every SSH connection, the kubeconfig and Cilium's k8sServiceHost), every remote Command runs only on the VM
 * whose address it connects to (identity check), and the cluster's Ready check carries its repair count.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DriftReport } from "../lib/drift-report";
import {
  MAC_FACTS,
  Recorder,
  bundleEnv,
  defaultStdout,
  devStackConfig,
  fakeIp,
  runLab,
  setStackConfig,
  unwrap,
} from "./harness/pulumi";
import { DEV_LAB_VMS } from "./harness/stacks";

/** A distinct address per VM, none of them the one its address step read (fakeIp). */
const MOVED: Record<string, string> = Object.fromEntries(
  DEV_LAB_VMS.map((vm, i) => [vm, `10.77.0.${i + 10}`]),
);
const drift = (d: Partial<DriftReport>): DriftReport => ({ addresses: {}, repairs: {}, messages: [], ...d });

/** The VM a bundle's identity check names (lib/shell.ts: `__tartlab_vm='…'`, single-quoted), if any. */
function bundleVm(stdin: string): string | undefined {
  const m = /^__tartlab_vm=((?:'[^']*'|\\')+)$/m.exec(stdin);
  return m ? m[1].replace(/'\\''/g, "'").replace(/^'|'$/g, "") : undefined;
}
const remoteCommands = (rec: Recorder) => rec.ofType("command:remote:Command");
/** The lab with every VM at its MOVED address: two tests read it, one evaluation serves both. */
let moved: ReturnType<typeof runLab> | undefined;
const movedLab = () => (moved ??= runLab(undefined, { drift: drift({ addresses: MOVED }) }));

describe("TartVm follows the drift address", () => {
  test("every remote Command connects to the drift address of a VM, and its bundle refuses any other VM", async () => {
    const { recorder } = await movedLab();
    const byIp = new Map(Object.entries(MOVED).map(([vm, ip]) => [ip, vm]));
    const commands = remoteCommands(recorder);
    assert.ok(commands.length >= 30, `${commands.length} remote commands`);
    for (const c of commands) {
      const host = unwrap(unwrap(c.inputs.connection).host);
      assert.ok(byIp.has(host), `${c.name} connects to ${host}, not a drift address`);
      assert.equal(bundleVm(unwrap(c.inputs.stdin)), byIp.get(host), `${c.name}: identity check`);
    }
  });

  test("the drift address reaches the node steps, the kubeconfig, the API server and Cilium; the address step is told it", async () => {
    const cp = MOVED["dev-master"];
    const { recorder, outputs } = await runLab(undefined, {
      drift: drift({ addresses: { "dev-master": cp } }),
    });
    const host = (name: string) => unwrap(unwrap(recorder.byName(name).inputs.connection).host);
    assert.equal(host("dev-master-identity"), cp);
    assert.equal(host("dev-init"), cp);
    assert.equal(
      host("dev-worker1-identity"),
      fakeIp("dev-worker1"),
      "a VM the check did not list keeps its read",
    );
    // An input only, so the step runs again in `up` and reads the address the VM has then (components/tart-vm.ts).
    assert.deepEqual(bundleEnv(unwrap(recorder.byName("dev-master-address").inputs.stdin)), {
      VM_NAME: "dev-master",
      FOUND_ADDRESS: cp,
    });
    assert.deepEqual(bundleEnv(unwrap(recorder.byName("dev-worker1-address").inputs.stdin)), {
      VM_NAME: "dev-worker1",
      FOUND_ADDRESS: fakeIp("dev-worker1"),
    });
    const values = unwrap(recorder.byName("dev-cilium").inputs.values);
    assert.equal(values.k8sServiceHost, cp);
    const kubeconfig = unwrap(recorder.byName("dev-k8s").inputs.kubeconfig);
    assert.match(kubeconfig, new RegExp(`server: https://${cp.replace(/\./g, "\\.")}:6443`));
    const apiServers = await new Promise((resolve) =>
      (outputs.apiServers as any).dev.apply((v: string) => resolve(v)),
    );
    assert.equal(apiServers, `https://${cp}:6443`);
    const join = bundleEnv(unwrap(recorder.byName("dev-dev-worker1-join").inputs.stdin));
    assert.match(join.JOIN_CONFIG, new RegExp(cp.replace(/\./g, "\\.")));
  });

  test("in up, a VM re-cloned in this run gets the address its new address step reads, never the one found before the graph", async () => {
    const { recorder } = await runLab(undefined, {
      drift: drift({ addresses: { "dev-master": MOVED["dev-master"] } }),
      stdout: (name) => (name === "dev-master-address" ? "192.168.64.77" : defaultStdout(name)),
    });
    const host = (name: string) => unwrap(unwrap(recorder.byName(name).inputs.connection).host);
    assert.equal(host("dev-master-identity"), "192.168.64.77");
    assert.equal(host("dev-init"), "192.168.64.77");
  });

  test("an address that is not IPv4 is refused before any resource, naming the VM (T09: never an empty value passed on)", async () => {
    const recorder = new Recorder();
    recorder.install();
    setStackConfig(devStackConfig());
    const { prepareLab, buildLab } = await import("../program");
    const lab = prepareLab({ hostFacts: () => MAC_FACTS });
    for (const bad of ["", "192.168.64", "fe80::1", "192.168.64.5\n"]) {
      // buildLab checks first and throws synchronously; inside a stack the rejection would surface unhandled.
      assert.throws(
        () => buildLab({ ...lab, drift: drift({ addresses: { ...MOVED, "dev-worker1": bad } }) }),
        /drift check: VM dev-worker1: address .* is not an IPv4 address; nothing was changed/,
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(recorder.registrations, []);
  });

  test("nodes still wait for their VM: the node's first step depends on the address step", async () => {
    const { recorder } = await movedLab();
    for (const vm of DEV_LAB_VMS) {
      assert.ok(
        recorder.byName(`${vm}-identity`).dependencies.includes(`${vm}-address`),
        `${vm}-identity waits for ${vm}-address`,
      );
    }
  });
});

describe("the cluster's Ready check carries its repair count", () => {
  const readyEnv = (rec: Recorder, cluster: string) =>
    bundleEnv(unwrap(rec.byName(`${cluster}-nodes-ready`).inputs.stdin));

  test("a repaired cluster's Ready check gets REPAIRS; the others, and a count of 0, keep their inputs", async () => {
    const plain = readyEnv((await runLab()).recorder, "dev");
    assert.deepEqual(Object.keys(plain).sort(), ["CLUSTER_NAME", "EXPECTED_NODES", "VM_RUNS"]);
    const { recorder } = await runLab(undefined, { drift: drift({ repairs: { dev: 2, staging: 0 } }) });
    assert.deepEqual(readyEnv(recorder, "dev"), { ...plain, REPAIRS: "2" });
    assert.equal(readyEnv(recorder, "staging").REPAIRS, undefined);
    assert.equal(readyEnv(recorder, "platform").REPAIRS, undefined);
  });
});
