// Entry point of the Pulumi program: the lab (program.ts) with the real host preflight.
import { program } from "./program";
import { probeHost } from "./lib/host";
import { reviveStoppedVms } from "./lib/revive";

export = async () => program({ hostFacts: probeHost, revive: reviveStoppedVms });
