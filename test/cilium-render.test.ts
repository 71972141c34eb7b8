/**
 * The pinned Cilium chart (tools/cilium-chart.sh) rendered by the pinned Helm (tools/helm.sh, the Helm the Kubernetes
 * provider embeds) with the exact values of the default lab's releases, mesh off and on, and what the clusters need
 * read back from the rendered objects: the agent config, the mesh's Service, peers, dial addresses and certificates,
 * and an agent that a Helm upgrade turning the mesh on leaves untouched.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments, parse } from "yaml";
import { MESH_NODE_PORT, validateLabConfig } from "../lib/lab-config";
import { VERSIONS } from "../lib/versions";
import { devRawConfig, devStackConfig, fakeIp, sharedLab, unwrap } from "./harness/pulumi";

const ROOT = path.join(__dirname, "..");
const CHART = process.env.TARTLAB_CILIUM_CHART ?? path.join(ROOT, ".cilium-chart", VERSIONS.cilium);
const HELM = process.env.TARTLAB_HELM ?? path.join(ROOT, ".tools", `helm-${VERSIONS.helm}`, "helm");
const MESH_DOMAIN = "mesh.cilium.io";
/** Where the chart's cilium-clustermesh secret sends the agents when KVStoreMesh runs in the local apiserver. */
const LOCAL_APISERVER = "https://clustermesh-apiserver.kube-system.svc:2379";

interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  [field: string]: any;
}

const LAB = validateLabConfig(devRawConfig()).config;
const CLUSTERS = LAB.clusters.map((c) => c.name);
const spec = (cluster: string) => LAB.clusters.find((c) => c.name === cluster)!;
/** The control plane's address the mocked VM reports (its `tart ip`). */
const controlPlaneIp = (cluster: string) =>
  fakeIp(spec(cluster).nodes.find((n) => n.role === "control-plane")!.name);
/** "1.35" or "1.35.2" as Helm's --kube-version takes it: v<major>.<minor>.<patch>. */
const helmKubeVersion = (v: string) => `v${[...v.split("."), "0", "0"].slice(0, 3).join(".")}`;

let tmp: string;
let ca: { cert: string; key: string; certFile: string };
/** cluster -> mesh on/off -> the rendered objects. */
const rendered: Record<string, Record<"off" | "on", K8sObject[]>> = {};

/** A test CA like components/cluster-mesh.ts's: an ECDSA P-256 key and a self-signed CA certificate, PEM. */
function makeCa(dir: string): { cert: string; key: string; certFile: string } {
  const keyFile = path.join(dir, "ca.key");
  const certFile = path.join(dir, "ca.crt");
  execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile]);
  execFileSync("openssl", [
    ...["req", "-x509", "-new", "-key", keyFile, "-out", certFile, "-days", "3650"],
    ...["-subj", "/O=tartlab/CN=tartlab ClusterMesh CA"],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,digitalSignature,keyEncipherment"],
  ]);
  const b64 = (file: string) => readFileSync(file).toString("base64");
  return { cert: b64(certFile), key: b64(keyFile), certFile };
}

/** `helm template` of the chart with these values, for one cluster's Kubernetes version. */
async function render(name: string, values: object, kubernetesVersion: string): Promise<K8sObject[]> {
  const file = path.join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify(values));
  const args = ["template", "cilium", CHART, "--namespace", "kube-system"];
  args.push("--kube-version", helmKubeVersion(kubernetesVersion), "-f", file);
  const { stdout } = await promisify(execFile)(HELM, args, { maxBuffer: 64 * 2 ** 20 }).catch((e) =>
    assert.fail(`helm ${args.join(" ")} failed: ${e.stderr || e.message}`),
  );
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}
function get(objects: K8sObject[], kind: string, name: string): K8sObject {
  return find(objects, kind, name) ?? assert.fail(`no ${kind} ${name} rendered`);
}
/** A Secret's entry, decoded. */
const secretEntry = (secret: K8sObject, key: string): string =>
  Buffer.from(secret.data?.[key] ?? assert.fail(`${secret.metadata.name} has no ${key}`), "base64").toString(
    "utf8",
  );
/** The endpoints a clustermesh config entry (an etcd client config) dials. */
const endpoints = (secret: K8sObject, peer: string): string[] => parse(secretEntry(secret, peer)).endpoints;
const peersOf = (cluster: string) => CLUSTERS.filter((c) => c !== cluster);

before(async () => {
  for (const [what, file, fix] of [
    [`Helm ${VERSIONS.helm}`, HELM, "bash tools/helm.sh"],
    [`the Cilium ${VERSIONS.cilium} chart`, path.join(CHART, "Chart.yaml"), "bash tools/cilium-chart.sh"],
  ]) {
    if (!existsSync(file)) assert.fail(`${what} is not there (${file} is missing); get it with: ${fix}`);
  }
  tmp = mkdtempSync(path.join(tmpdir(), "tartlab-cilium-render-"));
  ca = makeCa(tmp);
  // One lab evaluation at a time: they share the Pulumi runtime.
  const values = async (mesh: boolean) => {
    const config = mesh ? { ...devStackConfig(), "tartlab:clusterMesh": true } : devStackConfig();
    const { recorder } = await sharedLab(config);
    return Object.fromEntries(CLUSTERS.map((c) => [c, unwrap(recorder.byName(`${c}-cilium`).inputs.values)]));
  };
  const off = await values(false);
  const on = await values(true);
  const jobs = CLUSTERS.flatMap((c) => {
    const meshValues = on[c];
    // The mocks' CA is not a real key pair: the chart would fail to parse it. Same shape, real PEMs.
    assert.deepEqual(Object.keys(meshValues.tls.ca).sort(), ["cert", "key"]);
    assert.match(Buffer.from(meshValues.tls.ca.cert, "base64").toString(), /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(
      Buffer.from(meshValues.tls.ca.key, "base64").toString(),
      /^-----BEGIN EC PRIVATE KEY-----\n/,
    );
    const withCa = { ...meshValues, tls: { ...meshValues.tls, ca: { cert: ca.cert, key: ca.key } } };
    const version = spec(c).kubernetesVersion;
    return [
      render(`${c}-off`, off[c], version).then((o) => ((rendered[c] ??= {} as any).off = o)),
      render(`${c}-on`, withCa, version).then((o) => ((rendered[c] ??= {} as any).on = o)),
    ];
  });
  await Promise.all(jobs);
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe(`the Cilium ${VERSIONS.cilium} chart rendered by Helm ${VERSIONS.helm}`, () => {
  test("without the mesh: no clustermesh-apiserver, no KVStoreMesh secret, the agent config of the cluster", () => {
    for (const cluster of CLUSTERS) {
      const objects = rendered[cluster].off;
      assert.equal(find(objects, "Deployment", "clustermesh-apiserver"), undefined, cluster);
      assert.equal(find(objects, "Service", "clustermesh-apiserver"), undefined, cluster);
      assert.equal(find(objects, "Secret", "cilium-kvstoremesh"), undefined, cluster);
      const config = get(objects, "ConfigMap", "cilium-config").data;
      assert.equal(config["cluster-name"], cluster);
      assert.equal(config["cluster-id"], String(spec(cluster).id));
      assert.equal(config["cluster-pool-ipv4-cidr"], spec(cluster).podCidr);
      assert.equal(config["kube-proxy-replacement"], "true");
      // No kube-proxy: the agents reach the API server at the control plane's own address.
      const agent = get(objects, "DaemonSet", "cilium").spec.template.spec.containers.find(
        (c: any) => c.name === "cilium-agent",
      );
      const env = Object.fromEntries(agent.env.map((e: any) => [e.name, e.value]));
      assert.equal(env.KUBERNETES_SERVICE_HOST, controlPlaneIp(cluster), cluster);
    }
  });

  test("with the mesh: the clustermesh-apiserver is a NodePort Service on the mesh port", () => {
    for (const cluster of CLUSTERS) {
      const service = get(rendered[cluster].on, "Service", "clustermesh-apiserver").spec;
      assert.equal(service.type, "NodePort", cluster);
      assert.deepEqual(
        service.ports.map((p: any) => p.nodePort),
        [MESH_NODE_PORT],
        cluster,
      );
    }
  });

  test("with the mesh: the clustermesh-apiserver resolves each peer's mesh name to its control plane, not its own", () => {
    for (const cluster of CLUSTERS) {
      const pod = get(rendered[cluster].on, "Deployment", "clustermesh-apiserver").spec.template.spec;
      const aliases = (pod.hostAliases ?? []).flatMap((a: any) =>
        a.hostnames.map((h: string) => `${h}=${a.ip}`),
      );
      const want = peersOf(cluster).map((p) => `${p}.${MESH_DOMAIN}=${controlPlaneIp(p)}`);
      assert.deepEqual(aliases.sort(), want.sort(), cluster);
    }
  });

  test("with the mesh: KVStoreMesh dials each peer by its mesh name on the mesh port, the agents the local apiserver", () => {
    for (const cluster of CLUSTERS) {
      const kvstoremesh = get(rendered[cluster].on, "Secret", "cilium-kvstoremesh");
      const agents = get(rendered[cluster].on, "Secret", "cilium-clustermesh");
      for (const secret of [kvstoremesh, agents]) {
        const names = Object.keys(secret.data).filter((k) => !k.includes("."));
        assert.deepEqual(names.sort(), peersOf(cluster).sort(), `${cluster}: ${secret.metadata.name}`);
      }
      for (const peer of peersOf(cluster)) {
        assert.deepEqual(endpoints(kvstoremesh, peer), [`https://${peer}.${MESH_DOMAIN}:${MESH_NODE_PORT}`]);
        assert.deepEqual(endpoints(agents, peer), [LOCAL_APISERVER], `${cluster}: agents -> ${peer}`);
      }
    }
  });

  test("with the mesh: the server and remote certificates the chart signs verify against the lab's CA", () => {
    for (const cluster of CLUSTERS) {
      const objects = rendered[cluster].on;
      const server = get(objects, "Secret", "clustermesh-apiserver-server-cert");
      const remote = get(objects, "Secret", "clustermesh-apiserver-remote-cert");
      const serverFile = path.join(tmp, `${cluster}-server.crt`);
      const remoteFile = path.join(tmp, `${cluster}-remote.crt`);
      writeFileSync(serverFile, secretEntry(server, "tls.crt"));
      writeFileSync(remoteFile, secretEntry(remote, "tls.crt"));
      // What a peer's KVStoreMesh checks when it dials this cluster by its mesh name.
      const verify = (file: string, ...opts: string[]) =>
        execFileSync("openssl", ["verify", "-CAfile", ca.certFile, ...opts, file], { encoding: "utf8" });
      assert.match(
        verify(serverFile, "-purpose", "sslserver", "-verify_hostname", `${cluster}.${MESH_DOMAIN}`),
        /OK/,
      );
      // What this cluster's KVStoreMesh presents to every peer's server.
      assert.match(verify(remoteFile, "-purpose", "sslclient"), /OK/);
    }
  });

  test("turning the mesh on changes neither the agent DaemonSet nor cilium-config (no agent restarts)", () => {
    for (const cluster of CLUSTERS) {
      const { off, on } = rendered[cluster];
      for (const [kind, name] of [
        ["DaemonSet", "cilium"],
        ["ConfigMap", "cilium-config"],
      ]) {
        assert.deepEqual(get(on, kind, name), get(off, kind, name), `${cluster}: ${kind} ${name}`);
      }
    }
  });
});
