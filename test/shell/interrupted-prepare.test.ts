/**
 * An interrupted `pulumi up`, run again, converges: the cases of the node's preparation (k8s-node/prepare.sh, the
 * longest step), cut off after it and before or after its fake calls (test/harness/interrupted.ts says how).
 */
import { describe } from "node:test";
import { interruptedCases } from "../harness/interrupted";

describe("an interrupted pulumi up converges: the node's preparation (k8s-node/prepare.sh)", async () => {
  await interruptedCases("prepare");
});
