// Entry point of the Pulumi program: the lab (program.ts) with the real host, package and data preflights.
import { program } from "./program";
import { checkDataLoss } from "./lib/data-guard";
import { readClusterRecords } from "./lib/cluster-record";
import { checkDrift } from "./lib/drift";
import { probeHost } from "./lib/host";
import { fetchText, packagesUrl } from "./lib/package-index";

export = async () =>
  program({
    hostFacts: probeHost,
    // The drift check subsumes the T09 revive (it starts stopped VMs through lib/revive.ts itself).
    drift: (config, owner, dryRun) => checkDrift(config, owner, dryRun),
    packageIndex: (minor) => fetchText(packagesUrl(minor)),
    dataGuard: (config, owner, planned) => checkDataLoss(config, owner, {}, planned),
    clusterRecords: (config) => readClusterRecords(config),
  });
