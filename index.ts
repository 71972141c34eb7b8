// Entry point of the Pulumi program: the lab (program.ts) with the real host preflight and package index.
import { program } from "./program";
import { readClusterRecords } from "./lib/cluster-record";
import { probeHost } from "./lib/host";
import { fetchText, packagesUrl } from "./lib/package-index";
import { reviveStoppedVms } from "./lib/revive";

export = async () =>
  program({
    hostFacts: probeHost,
    revive: reviveStoppedVms,
    packageIndex: (minor) => fetchText(packagesUrl(minor)),
    clusterRecords: (config) => readClusterRecords(config),
  });
