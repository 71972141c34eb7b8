/** scripts/cilium-install/mesh-ready.sh: every Cilium agent of a meshed cluster reports every peer cluster ready. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, test } from "node:test";
import { HANG } from "../harness/node";
import { Sandbox, sandbox } from "../harness/shell";

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
  mkdirSync(`${sb.dir}/calls.log.mesh`);
});
afterEach(() => sb.dispose());

/** cilium-dbg's jsonpath for the remote clusters, as checked against client-go's jsonpath over Cilium's status model. */
const STATUS_PATH =
  'jsonpath={range .cluster-mesh.clusters[*]}{.name}{"\\t"}{.ready}{"\\t"}{.status}{"\\n"}{end}';

/**
 * A kubectl over a cluster's state in calls.log.mesh/, on a timeline: `nodes` (one name a line), `pods@<look>`
 * ("<node> <pod> <phase> <deletionTimestamp|->" lines) and `agent-<pod>@<look>` ("<peer> <true|false> <status>"
 * lines: that agent's remote clusters) hold the state from that look on; a look begins at each node listing.
 * `cilium-dbg status` prints the agent's clusters in the jsonpath's form (nothing without a file: no ClusterMesh
 * status); exec into a pod that is not Running fails as kubectl does; `hang-<pod>`: its exec never answers;
 * `api-down`: every call is refused.
 */
const meshKubectl = String.raw`s="$FAKE_CALLS.mesh"
_at() {
  n=$(ls "$s" | sed -n "s/^$1@//p" | sort -n | awk -v l="$(cat "$s/look")" '$1 <= l' | tail -n1)
  if [ -n "$n" ]; then cat "$s/$1@$n"; fi
}
_unsupported() { echo "fake kubectl: unsupported: $*" >&2; exit 1; }
if [ -f "$s/api-down" ]; then
  echo "The connection to the server 192.168.64.10:6443 was refused - did you specify the right host or port?" >&2
  exit 1
fi
case "$1 $2 $3" in
  "get nodes -o")
    if [ -f "$s/look" ]; then echo $(( $(cat "$s/look") + 1 )) >"$s/look"; else echo 0 >"$s/look"; fi
    cat "$s/nodes" ;;
  "-n kube-system get")
    [ "$4 $5 $6 $7" = "pods -l k8s-app=cilium -o" ] || _unsupported "$@"
    _at pods | awk '{ print $1 "\t" $2 "\t" $3 "\t" ($4 == "-" ? "" : $4) }' ;;
  "-n kube-system exec")
    pod=$4
    shift 4
    [ "$1 $2 $3 $4 $5 $6" = "-c cilium-agent -- cilium-dbg status -o" ] || _unsupported "$@"
    phase=$(_at pods | awk -v p="$pod" '$2 == p { print $3 }')
    [ -n "$phase" ] || { echo "Error from server (NotFound): pods \"$pod\" not found" >&2; exit 1; }
    [ "$phase" = Running ] || { echo "error: unable to upgrade connection: container not found (\"cilium-agent\")" >&2; exit 1; }
    if [ -f "$s/hang-$pod" ]; then ${HANG}; fi
    _at "agent-$pod" | awk '{ peer = $1; ready = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); print peer "\t" ready "\t" $0 }'
    echo ;;
  *) _unsupported "$@" ;;
esac`;

const CONNECTED =
  "etcd: 1/1 connected, leases=0, lock leases=0, has-quorum=true: endpoint status checks are disabled, ID: 4f2";
const WAITING = "Waiting for initial connection to be established";

/** Writes the cluster's state files: `files` by name (e.g. "pods@0", "agent-cilium-a@2"). */
function cluster(nodes: string[], files: Record<string, string[]>) {
  const dir = `${sb.dir}/calls.log.mesh`;
  writeFileSync(`${dir}/nodes`, nodes.map((n) => `${n}\n`).join(""));
  for (const [name, lines] of Object.entries(files)) {
    writeFileSync(`${dir}/${name}`, lines.map((l) => `${l}\n`).join(""));
  }
  sb.fake("kubectl", meshKubectl);
}

const env = { CLUSTER_NAME: "east", PEERS: "west north", POLL_SECONDS: "0" };
const run = (extra: Record<string, string> = {}) =>
  sb.run({ script: "cilium-install/mesh-ready.sh", env: { ...env, ...extra } });
const looks = (calls: string[]) => calls.filter((c) => c.startsWith("kubectl get nodes")).length;
const execs = (calls: string[], pod: string) =>
  calls.filter((c) => c.startsWith(`kubectl -n kube-system exec ${pod} `)).length;
/** The lines naming pairs that are not ready, without the cluster prefix. */
const notReady = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => / -> .*: not ready /.test(l))
    .map((l) => l.replace(/^tartlab: cluster east: /, ""));

describe("cilium-install/mesh-ready.sh", () => {
  test("agents whose peers become ready over time: the gate retries, then passes", async () => {
    cluster(["east-master", "east-worker1"], {
      "pods@0": ["east-master cilium-a Running -", "east-worker1 cilium-b Pending -"],
      "pods@1": ["east-master cilium-a Running -", "east-worker1 cilium-b Running -"],
      "agent-cilium-a@0": [`west true ${CONNECTED}`, `north false ${WAITING}`],
      "agent-cilium-a@2": [`west true ${CONNECTED}`, `north true ${CONNECTED}`],
      "agent-cilium-b@1": [`west false ${WAITING}`, `north false ${WAITING}`],
      "agent-cilium-b@3": [`north true ${CONNECTED}`, `west true ${CONNECTED}`],
    });
    const r = await run({ MESH_TIMEOUT_SECONDS: "30" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(looks(r.calls), 4, "passes at the look where the last pair is ready, not before");
    assert.equal(execs(r.calls, "cilium-b"), 3, "a Pending agent is not asked");
    assert.match(r.stderr, /tartlab: cluster east: ClusterMesh ready: 2 agents x 2 peers \(west north\)/);
  });

  test("asks each agent's own status as data (jsonpath, no JSON parser on the node)", async () => {
    cluster(["east-master"], {
      "pods@0": ["east-master cilium-a Running -"],
      "agent-cilium-a@0": [`west true ${CONNECTED}`, `north true ${CONNECTED}`],
    });
    const r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls.slice(2), [
      `kubectl -n kube-system exec cilium-a -c cilium-agent -- cilium-dbg status -o ${STATUS_PATH}`,
    ]);
  });

  test("a peer never ready: fails at the deadline naming the pair and its status", async () => {
    cluster(["east-master", "east-worker1"], {
      "pods@0": ["east-master cilium-a Running -", "east-worker1 cilium-b Running -"],
      "agent-cilium-a@0": [`west true ${CONNECTED}`, `north true ${CONNECTED}`],
      "agent-cilium-b@0": [`west true ${CONNECTED}`, `north false ${WAITING}`],
    });
    const r = await run({ MESH_TIMEOUT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tartlab: cluster east: ClusterMesh not ready after 0s:/);
    assert.deepEqual(notReady(r.stderr), [
      `node east-worker1 (agent cilium-b) -> north: not ready (${WAITING})`,
    ]);
  });

  test("an agent pod missing on a node: its pairs are not ready", async () => {
    cluster(["east-master", "east-worker1"], {
      "pods@0": ["east-master cilium-a Running -"],
      "agent-cilium-a@0": [`west true ${CONNECTED}`, `north true ${CONNECTED}`],
    });
    const r = await run({ MESH_TIMEOUT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.deepEqual(notReady(r.stderr), [
      "node east-worker1 (agent none) -> west: not ready (no Cilium agent pod on the node)",
      "node east-worker1 (agent none) -> north: not ready (no Cilium agent pod on the node)",
    ]);
  });

  test("a replaced agent: the terminating old pod's status does not count for the new one", async () => {
    cluster(["east-master"], {
      "pods@0": ["east-master cilium-old Running 2026-12-05T20:00:00Z", "east-master cilium-new Pending -"],
      "agent-cilium-old@0": [`west true ${CONNECTED}`, `north true ${CONNECTED}`],
    });
    const r = await run({ MESH_TIMEOUT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.deepEqual(notReady(r.stderr), [
      "node east-master (agent cilium-new) -> west: not ready (the agent pod is Pending)",
      "node east-master (agent cilium-new) -> north: not ready (the agent pod is Pending)",
    ]);
    assert.equal(execs(r.calls, "cilium-old"), 0);
  });

  test("a peer not in the agent's status at all, and an agent with no ClusterMesh status", async () => {
    cluster(["east-master", "east-worker1"], {
      "pods@0": ["east-master cilium-a Running -", "east-worker1 cilium-b Running -"],
      "agent-cilium-a@0": [`west true ${CONNECTED}`],
    });
    const r = await run({ MESH_TIMEOUT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.deepEqual(notReady(r.stderr), [
      "node east-master (agent cilium-a) -> north: not ready (not in the agent's ClusterMesh status)",
      "node east-worker1 (agent cilium-b) -> west: not ready (not in the agent's ClusterMesh status)",
      "node east-worker1 (agent cilium-b) -> north: not ready (not in the agent's ClusterMesh status)",
    ]);
  });

  test("an agent whose exec hangs is cut off and not ready; an API server that refuses is named", async () => {
    cluster(["east-master"], {
      "pods@0": ["east-master cilium-a Running -"],
      "agent-cilium-a@0": [`west true ${CONNECTED}`, `north true ${CONNECTED}`],
      "hang-cilium-a": [],
    });
    // A second, not 0.05 s: the fake's own list calls run under the same bound and can take longer on a loaded machine.
    const hung = await run({ MESH_TIMEOUT_SECONDS: "0", KUBECTL_TIMEOUT_SECONDS: "1" });
    assert.equal(hung.code, 1);
    assert.deepEqual(notReady(hung.stderr), [
      "node east-master (agent cilium-a) -> west: not ready (cilium-dbg status failed: no answer within 1s)",
      "node east-master (agent cilium-a) -> north: not ready (cilium-dbg status failed: no answer within 1s)",
    ]);
    writeFileSync(`${sb.dir}/calls.log.mesh/api-down`, "");
    const down = await run({ MESH_TIMEOUT_SECONDS: "0" });
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /tartlab: cluster east: cannot list the nodes: The connection to the server 192\.168\.64\.10:6443 was refused/,
    );
  });
});
