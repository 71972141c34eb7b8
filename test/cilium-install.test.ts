/**
 * CiliumInstall alone under mocks (test/harness/pulumi.ts), on a KubeadmCluster of K8sNodes at fixed addresses:
 * the chart through the cluster's own provider after init, and the nodes-Ready gate after Cilium and every join,
 * on the control plane, with its repair count and its VMs' sizes. Cilium in the default lab is in test/cluster.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CiliumInstall, CiliumInstallArgs } from "../components/cilium-install";
import { KubeadmCluster } from "../components/kubeadm-cluster";
import { C_IPS, cMembers, cSpec } from "./harness/cluster-c";
import {
  LabRun,
  bundleEnv,
  childrenOf,
  evaluate,
  isSecretValue,
  providerName,
  unwrap,
} from "./harness/pulumi";

const IPS = C_IPS;
const NODES = Object.keys(IPS);
const SPEC = cSpec(NODES);

/** Each VM's size and run options, as TartVm.runSpec spells them. */
const RUNS = Object.fromEntries(
  NODES.map((n) => [n, "cpus=2 memoryMb=4096 diskGb=25 softnetAllow=0.0.0.0/0"]),
);

/**
 * CiliumInstall `c` on a KubeadmCluster `c` of three K8sNodes; `repairs` as the drift check counted them, `vmRuns`
 * the VMs' sizes and run options.
 */
const oneInstall = (
  repairs?: number,
  vmRuns: Record<string, string> = RUNS,
  mesh?: CiliumInstallArgs["mesh"],
): Promise<LabRun> =>
  evaluate(() => {
    const { cp, workers } = cMembers(NODES);
    const cluster = new KubeadmCluster("c", {
      spec: SPEC,
      controlPlane: cp,
      workers,
      record: { kubernetesVersion: "1.35", nodes: {} },
      loginUser: "admin",
      contexts: { merge: false },
      forgetUnreachable: false,
    });
    new CiliumInstall("c", {
      spec: SPEC,
      cluster,
      controlPlaneIp: cp.node.ip,
      controlPlaneConnection: cp.node.connection,
      controlPlaneVm: cp.name,
      nodeNames: NODES,
      nodeIps: IPS,
      vmRuns,
      version: "1.19.8",
      repairs,
      mesh,
    });
  });

describe("CiliumInstall", () => {
  test("children: the Cilium release, one agent restart per node and the nodes-Ready gate, under the CiliumInstall", async () => {
    const { recorder: rec } = await oneInstall();
    const [install] = rec.ofType("tartlab:index:CiliumInstall");
    assert.deepEqual(
      childrenOf(rec, install).map((r) => `${r.type} ${r.name}`),
      [
        "kubernetes:helm.sh/v3:Release c-cilium",
        ...NODES.map((n) => `command:remote:Command c-${n}-cilium-agent`),
        "command:remote:Command c-nodes-ready",
      ],
    );
  });

  test("Cilium follows a changed address: the release after every re-point, each agent restart after its node's re-point and the release, the gate after them", async () => {
    const { recorder: rec } = await oneInstall();
    const rel = rec.byName("c-cilium");
    for (const d of ["c-init", "c-c-worker1-member", "c-c-worker2-member"])
      assert.ok(rel.dependencies.includes(d), `release after ${d}: ${rel.dependencies.join()}`);
    const repoint: Record<string, string> = {
      "c-master": "c-init",
      "c-worker1": "c-c-worker1-member",
      "c-worker2": "c-c-worker2-member",
    };
    const gate = rec.byName("c-nodes-ready");
    for (const n of NODES) {
      const agent = rec.byName(`c-${n}-cilium-agent`);
      for (const d of ["c-cilium", repoint[n]])
        assert.ok(
          agent.dependencies.includes(d),
          `${n}'s agent restart after ${d}: ${agent.dependencies.join()}`,
        );
      assert.ok(
        gate.dependencies.includes(agent.name),
        `gate after ${agent.name}: ${gate.dependencies.join()}`,
      );
      assert.equal(unwrap(agent.inputs.connection).host, IPS["c-master"], "runs on the control plane");
      assert.equal(agent.inputs.create, "sudo -n bash -s -- create");
      assert.deepEqual(bundleEnv(agent.inputs.stdin), { NODE_NAME: n, NODE_IP: IPS[n] });
    }
  });

  test("Cilium: the pinned chart through the cluster's own provider, after init, with values for this cluster", async () => {
    const { recorder: rec } = await oneInstall();
    const rel = rec.byName("c-cilium");
    assert.equal(providerName(rel.provider), "c-k8s");
    assert.ok(rel.dependencies.includes("c-init"), rel.dependencies.join());
    assert.deepEqual(
      [rel.inputs.chart, rel.inputs.version, rel.inputs.namespace, rel.inputs.repositoryOpts],
      ["cilium", "1.19.8", "kube-system", { repo: "https://helm.cilium.io" }],
    );
    assert.deepEqual(rel.inputs.values, {
      kubeProxyReplacement: "true",
      k8sServiceHost: IPS["c-master"],
      k8sServicePort: 6443,
      ipam: {
        mode: "cluster-pool",
        operator: { clusterPoolIPv4PodCIDRList: ["10.20.0.0/16"], clusterPoolIPv4MaskSize: 24 },
      },
      cluster: { name: "c", id: 7 },
      routingMode: "tunnel",
      tunnelProtocol: "vxlan",
      operator: { replicas: 1 },
    });
  });

  test("the nodes-Ready gate: after Cilium and every join, on the control plane, waiting for every node by name", async () => {
    const { recorder: rec } = await oneInstall();
    const gate = rec.byName("c-nodes-ready");
    for (const d of ["c-cilium", "c-c-worker1-member", "c-c-worker2-member"])
      assert.ok(gate.dependencies.includes(d), `${d}: ${gate.dependencies.join()}`);
    assert.equal(unwrap(gate.inputs.connection).host, IPS["c-master"]);
    assert.equal(gate.inputs.create, "sudo -n bash -s -- create");
    assert.deepEqual(bundleEnv(gate.inputs.stdin), {
      CLUSTER_NAME: "c",
      EXPECTED_NODES: "c-master c-worker1 c-worker2",
      VM_RUNS: NODES.map((n) => `${n} ${RUNS[n]}`).join("\n"),
    });
  });

  test("each VM's size and run options are an input of the gate: a VM restarted for a change of them makes it run again", async () => {
    const env = async (vmRuns?: Record<string, string>) =>
      bundleEnv((await oneInstall(undefined, vmRuns)).recorder.byName("c-nodes-ready").inputs.stdin);
    const resized = { ...RUNS, "c-master": "cpus=4 memoryMb=4096 diskGb=25 softnetAllow=0.0.0.0/0" };
    assert.notEqual((await env(resized)).VM_RUNS, (await env()).VM_RUNS);
  });

  test("a repair count above 0 is an input of the gate (it runs again); 0 leaves the inputs as they always were", async () => {
    const env = async (repairs?: number) =>
      bundleEnv((await oneInstall(repairs)).recorder.byName("c-nodes-ready").inputs.stdin);
    const never = await env(undefined);
    assert.deepEqual(await env(0), never);
    assert.deepEqual(await env(2), { ...never, REPAIRS: "2" });
  });

  test("with the mesh: the values add the peers and the CA and are secret, even when the CA is handed over plain; the release's copy is a secret output", async () => {
    const ca = { cert: "Q0VSVA==", key: "S0VZ" };
    const { recorder: rec } = await oneInstall(undefined, RUNS, { ca, peers: { d: "192.168.64.20" } });
    const rel = rec.byName("c-cilium");
    assert.ok(isSecretValue(rel.inputs.values), "the values carry the CA key");
    assert.deepEqual(rel.options.additionalSecretOutputs, ["values"]);
    const { clustermesh, tls, ...rest } = unwrap(rel.inputs.values);
    assert.deepEqual(tls, { ca });
    assert.deepEqual(clustermesh.config.clusters, { d: { port: 32379, ips: ["192.168.64.20"] } });
    const { recorder: plain } = await oneInstall();
    assert.deepEqual(
      rest,
      plain.byName("c-cilium").inputs.values,
      "the rest of the values as without the mesh",
    );
  });
});
