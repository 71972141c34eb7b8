// Entry point of the Pulumi program: the lab (program.ts) with the real host, package and data preflights.
import * as pulumi from "@pulumi/pulumi";
import { program } from "./program";
import { checkDataLoss } from "./mac/data-guard";
import { readClusterRecords } from "./mac/cluster-record";
import { checkDrift } from "./mac/drift";
import { probeHost } from "./mac/host-probe";
import { packagesUrl } from "./lib/package-index";
import { fetchText } from "./mac/package-fetch";

export = async () =>
  program({
    hostFacts: probeHost,
    // The drift check also starts stopped VMs (mac/revive.ts), with a line per VM in Pulumi's log as it goes.
    drift: (config, owner, dryRun) =>
      checkDrift(config, owner, dryRun, process.env, { progress: (line) => pulumi.log.info(line) }),
    packageIndex: (minor) => fetchText(packagesUrl(minor)),
    dataGuard: (config, owner, planned) => checkDataLoss(config, owner, {}, planned),
    clusterRecords: (config) => readClusterRecords(config),
  });
