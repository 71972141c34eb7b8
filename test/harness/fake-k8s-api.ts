/**
 * A fake Kubernetes API server on 127.0.0.1 speaking the few calls mac/status.ts makes (/version,
 * /api/v1/nodes, /apis/apps/v1/namespaces/kube-system/daemonsets/cilium, /apis/storage.k8s.io/v1/storageclasses)
 * and, for ClusterMesh, the clustermesh-apiserver pods and their KVStoreMesh metrics through the pod proxy
 * (/api/v1/namespaces/kube-system/pods, …/pods/<pod>:<port>/proxy/metrics), and mac/data-guard.ts makes (/api/v1/persistentvolumes, /api/v1/namespaces/<ns>/persistentvolumeclaims/<name>)
 * from a mutable state. Like a kubeadm API server it speaks HTTPS with a cluster CA and authenticates the client
 * certificate of the kubeconfig (admin.conf style: certificate-authority-data, client-certificate-data,
 * client-key-data); certificates are made with openssl once per test process. `hang` makes it accept
 * connections and never answer (an API server behind a dead VM's stale lease, or a wedged apiserver); `hung()`
 * tells the test when a request is left unanswered, so the test, not a timer, ends the wait.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { IncomingMessage, ServerResponse } from "node:http";
import { createServer, Server } from "node:https";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TLSSocket } from "node:tls";
import { stringify } from "yaml";

interface Pki {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

let pki: Pki | undefined;

/** CA, a server certificate for 127.0.0.1 and a client certificate (CN kubernetes-admin, O system:masters). */
function certificates(): Pki {
  if (pki) return pki;
  const dir = mkdtempSync(path.join(tmpdir(), "tartlab-pki-"));
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=kubernetes",
  );
  writeFileSync(f("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  for (const [n, subj, ext] of [
    ["server", "/CN=kube-apiserver", ["-extfile", f("san.ext")]],
    ["client", "/O=system:masters/CN=kubernetes-admin", []],
  ] as const) {
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      f(`${n}.key`),
      "-out",
      f(`${n}.csr`),
      "-subj",
      subj,
    );
    ssl(
      "x509",
      "-req",
      "-in",
      f(`${n}.csr`),
      "-CA",
      f("ca.crt"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-out",
      f(`${n}.crt`),
      "-days",
      "1",
      ...ext,
    );
  }
  const r = (n: string) => readFileSync(f(n), "utf8");
  pki = {
    ca: r("ca.crt"),
    serverCert: r("server.crt"),
    serverKey: r("server.key"),
    clientCert: r("client.crt"),
    clientKey: r("client.key"),
  };
  rmSync(dir, { recursive: true, force: true }); // kept in memory; npm test fails on leftovers in TMPDIR
  return pki;
}

export interface FakeNode {
  name: string;
  ready: boolean;
  kubeletVersion: string;
}

/** A local-path PV: pinned to one node by `kubernetes.io/hostname In [node]`, as provisioner.go writes it. */
export interface FakeVolume {
  name: string;
  node: string;
  claim: { namespace: string; name: string };
  /** Annotations of the bound claim (helm.sh/resource-policy …). */
  claimAnnotations?: Record<string, string>;
}

/** A clustermesh-apiserver pod (the Cilium chart's Deployment: label k8s-app=clustermesh-apiserver). */
export interface FakeMeshServer {
  name: string;
  phase: "Running" | "Pending";
  /** Its kvstoremesh container's `kvmesh-metrics` port; undefined: KVStoreMesh metrics off. */
  metricsPort?: number;
  /** cilium_kvstoremesh_remote_cluster_readiness_status by target cluster (1 ready, 0 not). */
  readiness: Record<string, 0 | 1>;
}

export interface FakeClusterState {
  gitVersion: string;
  nodes: FakeNode[];
  /** undefined: no Cilium DaemonSet (404). */
  cilium?: { desired: number; ready: number };
  storageClasses: { name: string; default: boolean }[];
  /** clustermesh-apiserver pods (default none: ClusterMesh not installed). */
  clustermesh?: FakeMeshServer[];
  /** PersistentVolumes and their claims (default none). */
  volumes?: FakeVolume[];
  /** Accept connections, never answer. */
  hang: boolean;
}

export interface FakeK8sApi {
  readonly url: string;
  /** The client key's PEM: must never appear in any output. */
  readonly clientKey: string;
  readonly state: FakeClusterState;
  /** Paths requested, in order. */
  readonly requests: string[];
  /** Resolves with the path of the next request left unanswered because of `hang` (or of one already left). */
  hung(): Promise<string>;
  /** A kubeconfig as tartlab writes it (cluster/user/context tartlab-<cluster>) pointing at this server. */
  kubeconfig(cluster: string): string;
  close(): Promise<void>;
}

export function healthyCluster(nodeNames: string[], version = "v1.34.1"): FakeClusterState {
  return {
    gitVersion: version,
    nodes: nodeNames.map((name) => ({ name, ready: true, kubeletVersion: version })),
    cilium: { desired: nodeNames.length, ready: nodeNames.length },
    storageClasses: [{ name: "local-path", default: true }],
    hang: false,
  };
}

function json(res: ServerResponse, code: number, body: unknown) {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** The metrics KVStoreMesh exports (Cilium's kvstoremesh metrics reference), its readiness among others. */
function kvstoremeshMetrics(readiness: Record<string, number>): string {
  const targets = Object.entries(readiness);
  const gauge = (name: string, help: string, rows: string[]) =>
    [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...rows].join("\n");
  return (
    [
      gauge(
        "cilium_kvstoremesh_remote_clusters",
        "The total number of remote clusters meshed with the local cluster",
        [`cilium_kvstoremesh_remote_clusters ${targets.length}`],
      ),
      gauge(
        "cilium_kvstoremesh_remote_cluster_failures",
        "The total number of failures related to the remote cluster",
        targets.map(([t]) => `cilium_kvstoremesh_remote_cluster_failures{target_cluster="${t}"} 1`),
      ),
      gauge(
        "cilium_kvstoremesh_remote_cluster_readiness_status",
        "The readiness status of the remote cluster",
        targets.map(
          ([t, v]) => `cilium_kvstoremesh_remote_cluster_readiness_status{target_cluster="${t}"} ${v}`,
        ),
      ),
      gauge("cilium_kvstoremesh_leader_election_master_status", "The leader election status", [
        'cilium_kvstoremesh_leader_election_master_status{name="kvstoremesh"} 1',
      ]),
    ].join("\n") + "\n"
  );
}

const status404 = (what: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  message: `${what} not found`,
  reason: "NotFound",
  code: 404,
});

export async function startFakeK8sApi(state: FakeClusterState): Promise<FakeK8sApi> {
  const certs = certificates();
  const requests: string[] = [];
  const unanswered: string[] = [];
  const waiters: ((p: string) => void)[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const p = (req.url ?? "").split("?")[0];
    requests.push(p);
    if (state.hang) {
      // Never answered; whoever waits for a hung request hears of it.
      unanswered.push(p);
      for (const w of waiters.splice(0)) w(p);
      return;
    }
    if (!(req.socket as TLSSocket).authorized) return json(res, 401, { kind: "Status", code: 401 });
    if (p === "/version") return json(res, 200, { major: "1", minor: "34", gitVersion: state.gitVersion });
    if (p === "/api/v1/nodes") {
      return json(res, 200, {
        kind: "NodeList",
        apiVersion: "v1",
        metadata: {},
        items: state.nodes.map((n) => ({
          metadata: { name: n.name },
          status: {
            conditions: [
              { type: "MemoryPressure", status: "False" },
              {
                type: "Ready",
                status: n.ready ? "True" : "False",
                reason: n.ready ? "KubeletReady" : "NodeNotReady",
              },
            ],
            nodeInfo: { kubeletVersion: n.kubeletVersion },
          },
        })),
      });
    }
    if (p === "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium") {
      if (!state.cilium) return json(res, 404, status404('daemonsets.apps "cilium"'));
      return json(res, 200, {
        kind: "DaemonSet",
        apiVersion: "apps/v1",
        metadata: { name: "cilium", namespace: "kube-system" },
        status: {
          desiredNumberScheduled: state.cilium.desired,
          currentNumberScheduled: state.cilium.desired,
          numberReady: state.cilium.ready,
          numberMisscheduled: 0,
        },
      });
    }
    if (p === "/api/v1/namespaces/kube-system/pods") {
      const selector = new URL(req.url ?? "", "https://x").searchParams.get("labelSelector");
      const pods = selector === "k8s-app=clustermesh-apiserver" ? (state.clustermesh ?? []) : [];
      return json(res, 200, {
        kind: "PodList",
        apiVersion: "v1",
        metadata: {},
        items: pods.map((m) => ({
          metadata: {
            name: m.name,
            namespace: "kube-system",
            labels: { "k8s-app": "clustermesh-apiserver" },
          },
          spec: {
            containers: [
              { name: "etcd", image: "etcd", ports: [{ name: "etcd", containerPort: 2379 }] },
              {
                name: "apiserver",
                image: "clustermesh-apiserver",
                ports: [{ name: "apiserv-metrics", containerPort: 9962 }],
              },
              {
                name: "kvstoremesh",
                image: "clustermesh-apiserver",
                ports: [
                  { name: "kvmesh-health", containerPort: 9881 },
                  ...(m.metricsPort === undefined
                    ? []
                    : [{ name: "kvmesh-metrics", containerPort: m.metricsPort }]),
                ],
              },
            ],
          },
          status: { phase: m.phase },
        })),
      });
    }
    const proxy = /^\/api\/v1\/namespaces\/kube-system\/pods\/([^/]+)\/proxy\/metrics$/.exec(p);
    if (proxy) {
      // The API server dials <pod IP>:<port>: a pod that does not run, or a port nothing listens on, is refused.
      const [pod, port] = decodeURIComponent(proxy[1]).split(":");
      const m = (state.clustermesh ?? []).find((x) => x.name === pod);
      if (!m) return json(res, 404, status404(`pods "${pod}"`));
      if (m.phase !== "Running" || m.metricsPort === undefined || String(m.metricsPort) !== port) {
        return json(res, 503, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: `error trying to reach service: dial tcp 10.10.0.7:${port}: connect: connection refused`,
          reason: "ServiceUnavailable",
          code: 503,
        });
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      return res.end(kvstoremeshMetrics(m.readiness));
    }
    if (p === "/apis/storage.k8s.io/v1/storageclasses") {
      return json(res, 200, {
        kind: "StorageClassList",
        apiVersion: "storage.k8s.io/v1",
        metadata: {},
        items: state.storageClasses.map((sc) => ({
          metadata: {
            name: sc.name,
            annotations: sc.default ? { "storageclass.kubernetes.io/is-default-class": "true" } : {},
          },
          provisioner: "rancher.io/local-path",
        })),
      });
    }
    if (p === "/api/v1/persistentvolumes") {
      return json(res, 200, {
        kind: "PersistentVolumeList",
        apiVersion: "v1",
        metadata: {},
        items: (state.volumes ?? []).map((v) => ({
          metadata: { name: v.name, annotations: { "local.path.provisioner/selected-node": v.node } },
          spec: {
            capacity: { storage: "8Gi" },
            accessModes: ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: "local-path",
            hostPath: { path: `/opt/local-path-provisioner/${v.name}_${v.claim.namespace}_${v.claim.name}` },
            claimRef: { kind: "PersistentVolumeClaim", namespace: v.claim.namespace, name: v.claim.name },
            nodeAffinity: {
              required: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [v.node] }] },
                ],
              },
            },
          },
          status: { phase: "Bound" },
        })),
      });
    }
    const claim = /^\/api\/v1\/namespaces\/([^/]+)\/persistentvolumeclaims\/([^/]+)$/.exec(p);
    if (claim) {
      const v = (state.volumes ?? []).find(
        (x) => x.claim.namespace === claim[1] && x.claim.name === claim[2],
      );
      if (!v) return json(res, 404, status404(`persistentvolumeclaims "${claim[2]}"`));
      return json(res, 200, {
        kind: "PersistentVolumeClaim",
        apiVersion: "v1",
        metadata: { name: v.claim.name, namespace: v.claim.namespace, annotations: v.claimAnnotations ?? {} },
        spec: {
          accessModes: ["ReadWriteOnce"],
          volumeName: v.name,
          resources: { requests: { storage: "8Gi" } },
        },
        status: { phase: "Bound" },
      });
    }
    return json(res, 404, status404(p));
  };
  const server: Server = createServer(
    {
      key: certs.serverKey,
      cert: certs.serverCert,
      ca: certs.ca,
      requestCert: true,
      rejectUnauthorized: false,
    },
    handler,
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");
  return {
    url,
    clientKey: certs.clientKey,
    state,
    requests,
    hung: () =>
      unanswered.length > 0 ? Promise.resolve(unanswered[0]) : new Promise((r) => waiters.push(r)),
    kubeconfig(cluster) {
      const name = `tartlab-${cluster}`;
      return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name, cluster: { server: url, "certificate-authority-data": b64(certs.ca) } }],
        users: [
          {
            name,
            user: {
              "client-certificate-data": b64(certs.clientCert),
              "client-key-data": b64(certs.clientKey),
            },
          },
        ],
        contexts: [{ name, context: { cluster: name, user: name } }],
        "current-context": name,
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
