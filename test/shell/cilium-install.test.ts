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
