/**
 * End-to-end test of ClusterMesh on a real Mac: two one-node clusters built without the mesh, the mesh turned on
 * by config (an update of each cluster's Cilium release, nothing rebuilt), then a global service answered from the
 * other cluster (examples/global-service), a second `pulumi up` that changes nothing, and `pulumi destroy`.
 *
 * Runs only where `tart` and `pulumi` are on PATH (macOS); elsewhere it skips with a one-line reason.
 * The VMs are named e2m-*, so neither an existing lab nor the other e2e test's VMs are touched.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parseAllDocuments } from "yaml";
import { Kube, eventually, kubeClient, skipReason, tartVms } from "./mac";

const ROOT = path.join(__dirname, "..", "..");
const VMS = ["e2m-a-cp", "e2m-b-cp"];

const MESH_CONFIG = {
  "tartlab:clusters": {
    value: JSON.stringify(
      ["a", "b"].map((c, i) => ({
        name: `e2m-${c}`,
        podCidr: `10.${240 + 2 * i}.0.0/16`,
        serviceCidr: `10.${241 + 2 * i}.0.0/16`,
        nodes: [{ name: `e2m-${c}-cp`, role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 25 }],
      })),
    ),
  },
  "tartlab:jenkins": { value: JSON.stringify({ enabled: false }) },
};

/** The example's objects, as README applies them with kubectl. */
const example = (file: string): any[] =>
  parseAllDocuments(readFileSync(path.join(ROOT, "examples", "global-service", file), "utf8")).map((d) =>
    d.toJSON(),
  );

async function create(kube: Kube, obj: any): Promise<void> {
  const ns = obj.metadata.namespace ?? "default";
  const where =
    obj.kind === "Deployment"
      ? `/apis/apps/v1/namespaces/${ns}/deployments`
      : `/api/v1/namespaces/${ns}/${obj.kind.toLowerCase()}s`;
  const r = await kube.request("POST", where, obj);
  assert.ok(r.status === 201 || r.status === 409, `create ${obj.kind} ${obj.metadata.name}: ${r.status}`);
}

describe(
  "Mac end-to-end: ClusterMesh turned on, a global service answers across clusters",
  { skip: skipReason() },
  () => {
    let stack: Stack;
    let backend: string;
    const stackEnv = () => ({
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: "tartlab-e2e",
      KUBECONFIG: path.join(backend, "kubeconfig"),
    });
    before(async () => {
      const present = tartVms().filter((n) => VMS.includes(n));
      assert.deepEqual(
        present,
        [],
        `VMs ${present.join(", ")} already exist; remove them before the e2e test`,
      );
      backend = mkdtempSync(path.join(tmpdir(), "tartlab-e2e-mesh-state-"));
      writeFileSync(path.join(backend, "kubeconfig"), "apiVersion: v1\nkind: Config\n");
      stack = await LocalWorkspace.createOrSelectStack(
        { stackName: "e2e-mesh", workDir: ROOT },
        { envVars: stackEnv() },
      );
      await stack.setAllConfig(MESH_CONFIG);
    });
    after(async () => {
      try {
        await stack?.destroy({ onOutput: (s) => process.stdout.write(s) });
        await stack?.workspace.removeStack("e2e-mesh");
      } finally {
        rmSync(path.join(ROOT, "Pulumi.e2e-mesh.yaml"), { force: true });
        if (backend) rmSync(backend, { recursive: true, force: true });
      }
    });

    let kubeconfigs: Record<string, string>;

    test("pulumi up builds two clusters without the mesh", { timeout: 90 * 60_000 }, async () => {
      const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
      assert.equal(up.summary.result, "succeeded");
      kubeconfigs = up.outputs.kubeconfigs.value;
      assert.deepEqual(Object.keys(kubeconfigs), ["e2m-a", "e2m-b"]);
    });

    test(
      "turning the mesh on updates Cilium in place and waits until the clusters see each other",
      { timeout: 45 * 60_000 },
      async () => {
        await stack.setConfig("tartlab:clusterMesh", { value: "true" });
        const preview = await stack.preview();
        const summary = preview.changeSummary ?? {};
        for (const op of ["replace", "delete", "create-replacement", "delete-replaced"] as const) {
          assert.equal(
            summary[op] ?? 0,
            0,
            `turning the mesh on must not ${op} anything: ${JSON.stringify(summary)}`,
          );
        }
        assert.equal(
          summary.update,
          2,
          `each cluster's Cilium release is upgraded: ${JSON.stringify(summary)}`,
        );
        // The up fails unless each cluster's mesh-ready step saw every agent connected to the other cluster.
        const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
        assert.equal(up.summary.result, "succeeded");
      },
    );

    test(
      "a global service in one cluster answers a client in the other",
      { timeout: 20 * 60_000 },
      async () => {
        const a = kubeClient(kubeconfigs["e2m-a"]);
        const b = kubeClient(kubeconfigs["e2m-b"]);
        for (const kube of [a, b]) for (const obj of example("service.yaml")) await create(kube, obj);
        for (const obj of example("deployment.yaml")) await create(a, obj);
        // Only e2m-a runs a backend, so an answer in e2m-b names e2m-a's node: it crossed the mesh.
        const answer = await eventually("e2m-b to reach the echo backend in e2m-a", 600, async () => {
          const name = `client-${Date.now()}`;
          await create(b, {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace: "default" },
            spec: {
              restartPolicy: "Never",
              containers: [
                {
                  name: "c",
                  image: example("deployment.yaml")[0].spec.template.spec.containers[0].image,
                  command: ["wget", "-qO-", "-T", "5", "http://echo:8080/"],
                },
              ],
            },
          });
          const done = await eventually(`pod ${name} to finish`, 120, async () => {
            const { json } = await b.request("GET", `/api/v1/namespaces/default/pods/${name}`);
            const phase = json?.status?.phase;
            return phase === "Succeeded" || phase === "Failed" ? phase : undefined;
          });
          const log = await b.request("GET", `/api/v1/namespaces/default/pods/${name}/log`);
          await b.request("DELETE", `/api/v1/namespaces/default/pods/${name}`);
          return done === "Succeeded" ? log.text : undefined;
        }).catch((e: Error) => e.message);
        assert.match(String(answer), /e2m-a-cp/);
      },
    );

    test("a second pulumi up changes nothing", { timeout: 30 * 60_000 }, async () => {
      const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
      const changes = Object.entries(up.summary.resourceChanges ?? {}).filter(
        ([op, n]) => op !== "same" && (n ?? 0) > 0,
      );
      assert.deepEqual(changes, []);
    });

    test("pulumi destroy leaves no VM behind", { timeout: 30 * 60_000 }, async () => {
      const d = await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
      assert.equal(d.summary.result, "succeeded");
      assert.deepEqual(
        tartVms().filter((n) => VMS.includes(n)),
        [],
      );
    });
  },
);
