/**
 * End-to-end test on a real Mac through the Pulumi Automation API: `pulumi up` of a small lab (one cluster, one
 * worker), checks (nodes Ready, a PVC binds on the default StorageClass, Jenkins serves its login page), a second
 * `pulumi up` that changes nothing, `pulumi destroy` that leaves no VM behind.
 *
 * Runs only where `tart` and `pulumi` are on PATH (macOS); elsewhere it skips with a one-line reason.
 * Run: `npm run e2e` (20-40 minutes: images, packages, charts are downloaded). State goes to a temporary local
 * backend; the VMs are named e2e-*, so an existing lab is not touched.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { validateLabConfig } from "../../lib/lab-config";
import { stackOwner } from "../../mac/home";
import { Measurements, durationRecorder } from "../../lib/perf-model";
import { SnapshotOptions, deleteSnapshot, restoreSnapshot, saveSnapshot } from "../../mac/snapshot";
import { VERSIONS } from "../../lib/versions";
import { DURATIONS_FILE } from "../../tools/plan";
import { eventually, httpGet, kubeClient, skipReason, tartVms } from "./mac";

const ROOT = path.join(__dirname, "..", "..");
const VMS = ["e2e-master", "e2e-worker1"];
const E2E_CONFIG = {
  "tartlab:clusters": {
    value: JSON.stringify([
      {
        name: "e2e",
        podCidr: "10.250.0.0/16",
        serviceCidr: "10.251.0.0/16",
        nodes: [
          { name: "e2e-master", role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 25 },
          { name: "e2e-worker1", role: "worker", cpus: 2, memoryMb: 4096, diskGb: 25 },
        ],
      },
    ]),
  },
  "tartlab:jenkins": { value: JSON.stringify({ enabled: true, cluster: "e2e", nodePort: 32081 }) },
};

/** True when Tart's OCI cache holds the base image: this up is a rebuild in the model's terms, else a first build. */
const baseImageCached = (): boolean => {
  const r = spawnSync("tart", ["list", "--source", "oci", "--format", "json"], { encoding: "utf8" });
  return (JSON.parse(r.stdout || "[]") as { Name: string }[]).some((v) =>
    v.Name.startsWith(VERSIONS.baseImage),
  );
};

const SNAPSHOT = "e2e-snap";

describe("Mac end-to-end: a small lab up, checked, idempotent, destroyed", { skip: skipReason() }, () => {
  let stack: Stack;
  let backend: string;
  /** What pulumi and the lab's commands need to reach this stack. */
  const stackEnv = () => ({
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "tartlab-e2e",
    KUBECONFIG: userKubeconfig,
  });
  /** The kubeconfig the lab's context is merged into: a temp file, never the user's own. */
  let userKubeconfig: string;
  before(async () => {
    const present = tartVms().filter((n) => VMS.includes(n));
    assert.deepEqual(present, [], `VMs ${present.join(", ")} already exist; remove them before the e2e test`);
    backend = mkdtempSync(path.join(tmpdir(), "tartlab-e2e-state-"));
    userKubeconfig = path.join(backend, "kubeconfig");
    writeFileSync(
      userKubeconfig,
      "apiVersion: v1\nkind: Config\ncontexts:\n- name: mine\n  context: {cluster: x, user: y}\n",
    );
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "e2e", workDir: ROOT },
      { envVars: stackEnv() },
    );
    await stack.setAllConfig(E2E_CONFIG);
  });
  after(async () => {
    // Always try to clean up, even after a failed check.
    try {
      // A snapshot left by a failed check: its VMs are not the stack's, so destroy would leave them.
      await deleteSnapshot(
        { owner: stackOwner(ROOT, "e2e"), stack: "e2e", name: SNAPSHOT },
        { dir: ROOT, env: process.env },
      ).catch((e: Error) => process.stdout.write(`snapshot cleanup: ${e.message}\n`));
      await stack?.destroy({ onOutput: (s) => process.stdout.write(s) });
      await stack?.workspace.removeStack("e2e");
    } finally {
      rmSync(path.join(ROOT, "Pulumi.e2e.yaml"), { force: true });
      if (backend) rmSync(backend, { recursive: true, force: true });
    }
  });

  let outputs: Record<string, any>;

  test("pulumi up creates the lab", { timeout: 90 * 60_000 }, async () => {
    // Each resource's duration feeds the performance model (`npm run plan` reads the file).
    const build = baseImageCached() ? "rebuild" : "first";
    const durations = durationRecorder();
    const up = await stack.up({ onOutput: (s) => process.stdout.write(s), onEvent: durations.onEvent });
    assert.equal(up.summary.result, "succeeded");
    const measured: Measurements = {
      recordedAt: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
      scenario: { golden: false, build },
      resources: durations.resources(),
    };
    writeFileSync(DURATIONS_FILE, `${JSON.stringify(measured, null, 2)}\n`);
    outputs = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value]));
    assert.deepEqual(Object.keys(outputs.kubeconfigs), ["e2e"]);
    const merged = parse(readFileSync(userKubeconfig, "utf8"));
    assert.deepEqual(
      merged.contexts.map((c: { name: string }) => c.name),
      ["mine", "tartlab-e2e"],
      "the context is merged into $KUBECONFIG, the user's own kept",
    );
  });

  test("every node is Ready", { timeout: 15 * 60_000 }, async () => {
    const kube = kubeClient(outputs.kubeconfigs.e2e);
    const { json } = await kube.request("GET", "/api/v1/nodes");
    const ready = json.items.map((n: any) => [
      n.metadata.name,
      n.status.conditions.find((c: any) => c.type === "Ready")?.status,
    ]);
    assert.deepEqual(ready.sort(), [
      ["e2e-master", "True"],
      ["e2e-worker1", "True"],
    ]);
  });

  test(
    "a PVC without a storage class binds (default local-path, T06)",
    { timeout: 15 * 60_000 },
    async () => {
      const kube = kubeClient(outputs.kubeconfigs.e2e);
      const ns = "/api/v1/namespaces/default";
      await kube.request("POST", `${ns}/persistentvolumeclaims`, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "e2e-pvc" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "100Mi" } } },
      });
      // local-path binds on first use (WaitForFirstConsumer): give it a consumer.
      await kube.request("POST", `${ns}/pods`, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "e2e-pvc-user" },
        spec: {
          containers: [
            {
              name: "c",
              image: "busybox:1.36",
              command: ["sh", "-c", "echo ok >/data/ok; sleep 3600"],
              volumeMounts: [{ name: "d", mountPath: "/data" }],
            },
          ],
          volumes: [{ name: "d", persistentVolumeClaim: { claimName: "e2e-pvc" } }],
        },
      });
      await eventually("PVC e2e-pvc to be Bound", 600, async () => {
        const { json } = await kube.request("GET", `${ns}/persistentvolumeclaims/e2e-pvc`);
        return json?.status?.phase === "Bound" ? true : undefined;
      });
      await kube.request("DELETE", `${ns}/pods/e2e-pvc-user`);
      await kube.request("DELETE", `${ns}/persistentvolumeclaims/e2e-pvc`);
    },
  );

  test("Jenkins answers its login page", { timeout: 20 * 60_000 }, async () => {
    const page = await eventually("Jenkins login page", 900, async () => {
      const r = await httpGet(`${outputs.jenkinsUrl}/login`);
      return r.status === 200 ? r : undefined;
    });
    assert.match(page.body, /Jenkins/);
    assert.equal(typeof outputs.jenkinsAdminPassword, "string");
  });

  test("a second pulumi up changes nothing", { timeout: 30 * 60_000 }, async () => {
    const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
    const changes = Object.entries(up.summary.resourceChanges ?? {}).filter(
      ([op, n]) => op !== "same" && (n ?? 0) > 0,
    );
    assert.deepEqual(changes, []);
  });

  test(
    "snapshot: save, break a node, restore, every node Ready and pulumi preview shows no changes",
    { timeout: 30 * 60_000 },
    async () => {
      const opts: SnapshotOptions = {
        dir: ROOT,
        env: { ...process.env, ...stackEnv() },
        progress: (l) => process.stdout.write(`snapshot: ${l}\n`),
      };
      // As lib/config.ts reads it: Pulumi keeps these object values as JSON strings.
      const config = validateLabConfig({
        clusters: JSON.parse(E2E_CONFIG["tartlab:clusters"].value),
        jenkins: JSON.parse(E2E_CONFIG["tartlab:jenkins"].value),
      }).config;
      const owner = stackOwner(ROOT, "e2e");
      const saved = await saveSnapshot(config, { owner, stack: "e2e", name: SNAPSHOT }, opts);
      assert.equal(saved.ok, true, saved.message);
      const kube = kubeClient(outputs.kubeconfigs.e2e);
      // Broken for good: kubelet disabled, so the node stays NotReady across reboots until the restore.
      const broke = spawnSync("tart", [
        "exec",
        "e2e-worker1",
        "sudo",
        "systemctl",
        "disable",
        "--now",
        "kubelet",
      ]);
      assert.equal(broke.status, 0, String(broke.stderr));
      await eventually("e2e-worker1 to turn NotReady", 300, async () => {
        const { json } = await kube.request("GET", "/api/v1/nodes/e2e-worker1");
        return json?.status?.conditions?.find((c: any) => c.type === "Ready")?.status !== "True"
          ? true
          : undefined;
      });
      const restored = await restoreSnapshot(config, { owner, stack: "e2e", name: SNAPSHOT }, opts);
      assert.equal(restored.ok, true, restored.message);
      const { json } = await kube.request("GET", "/api/v1/nodes");
      assert.deepEqual(
        json.items
          .map((n: any) => [
            n.metadata.name,
            n.status.conditions.find((c: any) => c.type === "Ready")?.status,
          ])
          .sort(),
        [
          ["e2e-master", "True"],
          ["e2e-worker1", "True"],
        ],
      );
      const preview = await stack.preview();
      const changes = Object.entries(preview.changeSummary ?? {}).filter(
        ([op, n]) => op !== "same" && (n ?? 0) > 0,
      );
      assert.deepEqual(changes, [], "the restored lab and the imported state agree");
      const gone = await deleteSnapshot({ owner, stack: "e2e", name: SNAPSHOT }, opts);
      assert.equal(gone.ok, true, gone.message);
    },
  );

  test("pulumi destroy leaves no VM behind", { timeout: 30 * 60_000 }, async () => {
    const d = await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
    assert.equal(d.summary.result, "succeeded");
    assert.deepEqual(
      tartVms().filter((n) => VMS.includes(n)),
      [],
    );
    const left = parse(readFileSync(userKubeconfig, "utf8"));
    assert.deepEqual(
      left.contexts.map((c: { name: string }) => c.name),
      ["mine"],
      "destroy removes the lab's context",
    );
  });
});
