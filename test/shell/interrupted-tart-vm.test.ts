/**
 * An interrupted `pulumi up` or `pulumi destroy`, run again, converges: the cases of the steps on the Mac (clone,
 * start, address; stop, delete), each cut off after it and before and after each of its fake calls
 * (test/harness/interrupted.ts says how, and which file runs the other steps).
 */
import { describe } from "node:test";
import { interruptedCases } from "../harness/interrupted";

describe("an interrupted pulumi up / destroy converges: the Mac's steps (scripts/tart-vm)", async () => {
  await interruptedCases("tart-vm");
});
