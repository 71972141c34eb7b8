/** README's global-service example (examples/global-service) is what the Mac e2e test applies: keep it coherent. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { VERSIONS } from "../lib/versions";

const load = (file: string): any[] =>
  parseAllDocuments(readFileSync(path.join(__dirname, "..", "examples", "global-service", file), "utf8")).map(
    (d) => d.toJSON(),
  );

test("the global-service example: a global Service that selects the Deployment's pods on their port", () => {
  const [service] = load("service.yaml");
  const [deployment] = load("deployment.yaml");
  assert.equal(service.metadata.annotations["service.cilium.io/global"], "true");
  // A global service must have the same name and namespace in every cluster; the Deployment shares them.
  assert.equal(service.metadata.name, deployment.metadata.name);
  assert.equal(service.metadata.namespace, deployment.metadata.namespace);
  const labels = deployment.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(labels[k], v, `selector ${k}`);
  const container = deployment.spec.template.spec.containers[0];
  assert.equal(service.spec.ports[0].targetPort, container.ports[0].containerPort);
  assert.match(container.command.join(" "), new RegExp(`-p ${container.ports[0].containerPort}\\b`));
  assert.equal(container.image, VERSIONS.localPathHelperImage, "the one busybox pin");
});
