/** scripts/cilium-install/nodes-ready.sh: the gate before local-path and Jenkins (T05: readiness from the API). */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, test } from "node:test";
import { HANG } from "../harness/node";
import { Sandbox, sandbox } from "../harness/shell";

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.dispose());

const env = { CLUSTER_NAME: "dev", EXPECTED_NODES: "dev-master dev-worker1", POLL_SECONDS: "0" };

/**
 * A kubectl over a state file of "<node> <Ready|NotReady>" lines: `wait` succeeds only when every named node is
 * registered and Ready (like kubectl wait, it fails at once for a node that is not registered), and each call
 * advances the state by one step from $FAKE_STEPS (one line of the file per step).
 */
const statefulKubectl = `state="$FAKE_CALLS.nodes"
steps="$FAKE_CALLS.steps"
if [ -s "$steps" ]; then head -n1 "$steps" | tr ' ' '\\n' | sed 's/=/ /' >"$state"; sed -i 1d "$steps"; fi
case "$1" in
  wait)
    shift 3
    for t in "$@"; do
      n=\${t#node/}
      grep -q "^$n " "$state" || { echo "Error from server (NotFound): nodes \\"$n\\" not found" >&2; exit 1; }
      grep -q "^$n Ready$" "$state" || { echo "error: timed out waiting for the condition on nodes/$n" >&2; exit 1; }
    done
    echo "node/ready" ;;
  get) cat "$state" ;;
esac`;

describe("cilium-install/nodes-ready.sh", () => {
  test("a worker registers late and turns Ready: the gate retries, then passes", async () => {
    writeFileSync(`${sb.dir}/calls.log.nodes`, "dev-master NotReady\n");
    writeFileSync(
      `${sb.dir}/calls.log.steps`,
      "dev-master=NotReady\ndev-master=Ready dev-worker1=NotReady\ndev-master=Ready dev-worker1=Ready\n",
    );
    sb.fake("kubectl", statefulKubectl);
    const r = await sb.run({
      script: "cilium-install/nodes-ready.sh",
      env: { ...env, READY_TIMEOUT_SECONDS: "30" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(`${sb.dir}/calls.log.steps`, "utf8"), "", "all three states were seen");
    assert.match(r.stderr, /cluster dev: all 2 nodes Ready/);
  });

  test("waits on each named node with kubectl wait (T05), never counts lines", async () => {
    writeFileSync(`${sb.dir}/calls.log.nodes`, "dev-master Ready\ndev-worker1 Ready\n");
    sb.fake("kubectl", statefulKubectl);
    const r = await sb.run({ script: "cilium-install/nodes-ready.sh", env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.calls[0],
      /^kubectl wait --for=condition=Ready --timeout=\d+s node\/dev-master node\/dev-worker1$/,
    );
  });

  test("a node that never registers: clear error naming the nodes after the timeout", async () => {
    writeFileSync(`${sb.dir}/calls.log.nodes`, "dev-master Ready\n");
    sb.fake("kubectl", statefulKubectl);
    const r = await sb.run({
      script: "cilium-install/nodes-ready.sh",
      env: { ...env, READY_TIMEOUT_SECONDS: "0" },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cluster dev: nodes not all Ready after 0s \(waited for: dev-master dev-worker1\)/,
    );
    assert.match(r.stderr, /dev-master Ready/, "the node list is shown");
  });

  test("a hanging kubectl wait (API unreachable) is cut off; the deadline holds", async () => {
    sb.fake("kubectl", `if [ "$1" = wait ]; then ${HANG}; fi; echo "NAME STATUS"`);
    const r = await sb.run({
      script: "cilium-install/nodes-ready.sh",
      env: { ...env, READY_TIMEOUT_SECONDS: "0", KUBECTL_GRACE_SECONDS: "0.05" },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nodes not all Ready after 0s/);
    assert.deepEqual(
      r.calls,
      [
        "kubectl wait --for=condition=Ready --timeout=0s node/dev-master node/dev-worker1",
        "kubectl get nodes -o wide",
      ],
      "one wait, cut off; then the node list",
    );
  });
});

/**
 * A kubectl over one node's state in files next to the call log: the Node's InternalIP (`node-ip`), its CiliumNode's
 * InternalIP (`ciliumnode-ip`; absent: no CiliumNode) and its Cilium agent pods (`pods`: "<name> <terminating|starting
 * |ready>" lines). As in a cluster, a deleted agent pod terminates and the DaemonSet starts a new one, which writes the
 * Node's address into the CiliumNode when it starts; each call but the delete advances that by one step, unless
 * `agent-stuck` exists (the new agent never gets Ready). `node-ip-next` is the Node's address after the next look.
 */
const agentKubectl = `s="$FAKE_CALLS"
while [ $# -gt 0 ]; do case "$1" in -n) shift 2 ;; *) break ;; esac; done
# Time passes between calls: the agents move on by one step first.
if [ ! -f "$s.agent-stuck" ] && [ "$1" != delete ]; then
  : >"$s.pods.next"
  while read -r name state; do
    case "$state" in
      terminating) ;;
      starting) echo "$name ready" >>"$s.pods.next"; cp "$s.node-ip" "$s.ciliumnode-ip" ;;
      *) echo "$name $state" >>"$s.pods.next" ;;
    esac
  done <"$s.pods"
  mv "$s.pods.next" "$s.pods"
fi
case "$1 $2" in
  "get node")
    printf '%s' "$(cat "$s.node-ip")"
    if [ -f "$s.node-ip-next" ]; then mv "$s.node-ip-next" "$s.node-ip"; fi ;;
  "get ciliumnode")
    [ -f "$s.ciliumnode-ip" ] || { echo "Error from server (NotFound): ciliumnodes.cilium.io \\"$3\\" not found" >&2; exit 1; }
    printf '%s' "$(cat "$s.ciliumnode-ip")" ;;
  "get pods")
    while read -r name state; do
      case "$state" in terminating) echo "2026-12-05T20:00:00Z True" ;; starting) echo " False" ;; ready) echo " True" ;; esac
    done <"$s.pods" ;;
  "delete pod")
    sed -i 's/ ready$/ terminating/' "$s.pods"
    echo "cilium-new starting" >>"$s.pods"
    echo 'pod "cilium-old" deleted' ;;
  *) echo "fake kubectl: unsupported: $*" >&2; exit 1 ;;
esac`;

describe("cilium-install/agent-restart.sh: Cilium follows a node's changed address", () => {
  const NEW = "192.168.64.21";
  const OLD = "192.168.64.11";
  const state = (f: string) => `${sb.dir}/calls.log.${f}`;
  const agentEnv = { NODE_NAME: "dev-worker1", NODE_IP: NEW, POLL_SECONDS: "0" };
  const cluster = (node: string, ciliumNode: string | undefined) => {
    writeFileSync(state("node-ip"), node);
    if (ciliumNode !== undefined) writeFileSync(state("ciliumnode-ip"), ciliumNode);
    writeFileSync(state("pods"), "cilium-old ready\n");
    sb.fake("kubectl", agentKubectl);
  };
  const run = (extra: Record<string, string> = {}) =>
    sb.run({ script: "cilium-install/agent-restart.sh", env: { ...agentEnv, ...extra } });
  const deletes = (calls: string[]) => calls.filter((c) => /^kubectl .*delete pod/.test(c));

  test("a moved node: once the Node shows the new address, its agent is restarted and its CiliumNode follows", async () => {
    cluster(OLD, OLD);
    writeFileSync(state("node-ip-next"), NEW); // the re-pointed kubelet updates the Node a moment later
    const r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(state("ciliumnode-ip"), "utf8"), NEW, "the agent uses the new address");
    assert.equal(readFileSync(state("pods"), "utf8"), "cilium-new ready\n", "one new agent, Ready");
    assert.deepEqual(deletes(r.calls), [
      "kubectl -n kube-system delete pod -l k8s-app=cilium --field-selector spec.nodeName=dev-worker1 --wait=false",
    ]);
    const nodeLooks = r.calls.flatMap((c, i) => (c.startsWith("kubectl get node ") ? [i] : []));
    assert.ok(
      nodeLooks.length >= 2 && nodeLooks[1] < r.calls.findIndex((c) => c.includes("delete pod")),
      "not before the Node shows the new address (at the second look)",
    );
    assert.match(r.stderr, /agent on dev-worker1 still uses 192\.168\.64\.11 .*restarting it/);
    assert.match(r.stderr, /agent on dev-worker1 was restarted and uses 192\.168\.64\.21/);
  });

  test("nothing moved, or no agent has run on the node yet: no restart", async () => {
    for (const ciliumNode of [NEW, undefined]) {
      cluster(NEW, ciliumNode);
      const r = await run();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(deletes(r.calls), [], `CiliumNode ${ciliumNode}`);
      assert.equal(readFileSync(state("pods"), "utf8"), "cilium-old ready\n");
      assert.match(
        r.stderr,
        ciliumNode === undefined
          ? /no Cilium agent has run on dev-worker1 yet \(no CiliumNode\); nothing to restart/
          : /uses its address 192\.168\.64\.21; no restart needed/,
      );
      sb.dispose();
      sb = sandbox();
    }
  });

  test("a Node that never shows the new address: fails after its deadline, the agent untouched", async () => {
    cluster(OLD, OLD);
    const r = await run({ AGENT_WAIT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /node dev-worker1 did not show the address 192\.168\.64\.21 within 0s \(it shows "192\.168\.64\.11"\); its Cilium agent was not restarted/,
    );
    assert.deepEqual(deletes(r.calls), []);
    assert.equal(readFileSync(state("ciliumnode-ip"), "utf8"), OLD);
  });

  test("a new agent that never gets Ready: fails after its deadline and says where to look", async () => {
    cluster(NEW, OLD);
    writeFileSync(state("agent-stuck"), "");
    const r = await run({ AGENT_WAIT_SECONDS: "0" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /new Cilium agent on dev-worker1 was not Ready with the address 192\.168\.64\.21 within 0s \(its CiliumNode says "192\.168\.64\.11"\)/,
    );
    assert.equal(deletes(r.calls).length, 1);
  });
});
