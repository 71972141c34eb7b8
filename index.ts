// Entry point of the Pulumi program: the lab (program.ts) with the real host, package and data preflights.
import { program } from "./program";
import { checkDataLoss } from "./lib/data-guard";
import { readClusterRecords } from "./lib/cluster-record";
import { probeHost } from "./lib/host";
import { fetchText, packagesUrl } from "./lib/package-index";
import { reviveStoppedVms } from "./lib/revive";

export = async () =>
  program({
    hostFacts: probeHost,
    revive: reviveStoppedVms,
    packageIndex: (minor) => fetchText(packagesUrl(minor)),
    dataGuard: (config, owner) => checkDataLoss(config, owner),
    clusterRecords: (config) => readClusterRecords(config),
  });
