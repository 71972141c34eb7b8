/**
 * An interrupted `pulumi up` or `pulumi destroy`, run again, converges: the cases of the node's identity and checks
 * and of its membership in the cluster (join token, join, member; member-remove), each cut off after it and before
 * and after each of its fake calls (test/harness/interrupted.ts says how).
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

describe("an interrupted pulumi up / destroy converges: the node's identity, checks and membership", async () => {
  await interruptedCases("node", NAMED);
});
