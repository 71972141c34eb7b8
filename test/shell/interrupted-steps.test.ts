/**
 * An interrupted `pulumi up` or `pulumi destroy`, run again, converges: the cases of every step but the node's
 * preparation (test/shell/interrupted-prepare.test.ts): on the Mac (clone, start, address; stop, delete), the node's
 * identity and checks, and its membership in the cluster (join token, join, member; member-remove), each cut off
 * after it and before and after each of its fake calls (test/harness/interrupted.ts says how).
 */
import { describe } from "node:test";
import { Named, interruptedCases } from "../harness/interrupted";

/** Cases a mutation guard names by what their title says here (tools/guards-list.ts). */
const NAMED: readonly Named[] = [
  {
    resource: "dev-dev-worker1-join",
    when: "after",
    call: /^kubeadm join /,
    says: "the re-run finds the node joined and removes the join config the cut left (it holds the token)",
  },
];

describe("an interrupted pulumi up / destroy converges: every step but the node's preparation", async () => {
  await interruptedCases("steps", NAMED);
});
