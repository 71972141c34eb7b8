/**
 * kubectl contexts under mocks: the host-kubeconfig step of every cluster gets the merge switches and the project dir as
 * data in its (secret) stdin bundle, with a delete that removes the context; bad switches are refused up front.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { LabConfigError, validateLabConfig } from "../lib/lab-config";
import { bundleEnv, devRawConfig, devStackConfig, isSecretValue, runLab, unwrap } from "./harness/pulumi";

const ROOT = path.join(__dirname, "..");

async function hostSteps(kubeconfig?: unknown) {
  const config = devStackConfig();
  if (kubeconfig !== undefined) config["tartlab:kubeconfig"] = kubeconfig;
  const { recorder } = await runLab(config);
  return Object.fromEntries(
    ["platform", "dev", "staging"].map((c) => {
      const r = recorder.byName(`${c}-host-kubeconfig`);
      return [c, { r, env: bundleEnv(unwrap(r.inputs.stdin)) }];
    }),
  );
}

const problems = (kubeconfig: unknown): string[] => {
  try {
    validateLabConfig({ ...devRawConfig(), kubeconfig });
    return [];
  } catch (e) {
    if (e instanceof LabConfigError) return [...e.problems];
    throw e;
  }
};

describe("kubectl contexts: the host-kubeconfig step", () => {
  test("default: every cluster merges its context, none becomes current; secret stdin, no logs", async () => {
    const steps = await hostSteps();
    for (const [cluster, { r, env }] of Object.entries(steps)) {
      assert.equal(r.type, "command:local:Command");
      assert.equal(r.inputs.create, "bash -s -- create");
      assert.equal(r.inputs.delete, "bash -s -- delete");
      assert.ok(isSecretValue(r.inputs.stdin), `${cluster}: the bundle carries the kubeconfig`);
      assert.equal(r.inputs.logging, "none");
      assert.equal(r.inputs.environment, undefined, "inputs travel in the stdin bundle only");
      assert.deepEqual(
        { ...env, KUBECONFIG_CONTENT: parse(env.KUBECONFIG_CONTENT)["current-context"] },
        {
          CLUSTER_NAME: cluster,
          KUBECONFIG_CONTENT: `tartlab-${cluster}`,
          KUBECONFIG_MERGE: "true",
          SET_CURRENT_CONTEXT: "false",
          TARTLAB_PROJECT_DIR: ROOT,
        },
      );
      const stdin = unwrap(r.inputs.stdin) as string;
      const [create, del] = stdin.slice(stdin.indexOf("\ncreate)\n")).split("\ndelete)\n");
      assert.match(create, /set -- merge "\$CLUSTER_NAME"/, "create merges");
      assert.match(del, /_kubeconfig_cli remove "\$CLUSTER_NAME"\n/, "delete removes");
    }
  });

  test("currentContext names one cluster: only its step sets the current context", async () => {
    const steps = await hostSteps({ currentContext: "dev" });
    assert.deepEqual(
      Object.fromEntries(Object.entries(steps).map(([c, { env }]) => [c, env.SET_CURRENT_CONTEXT])),
      { platform: "false", dev: "true", staging: "false" },
    );
  });

  test("merge false: files only", async () => {
    const steps = await hostSteps({ merge: false });
    for (const { env } of Object.values(steps)) assert.equal(env.KUBECONFIG_MERGE, "false");
  });

  test("bad switches are refused with key, value and fix", () => {
    assert.deepEqual(problems({ merge: "yes" }), [
      'tartlab:kubeconfig.merge must be true or false, got "yes"',
    ]);
    assert.deepEqual(problems({ currentContext: "prod" }), [
      'tartlab:kubeconfig.currentContext "prod" is not one of the clusters (platform, dev, staging); name a ' +
        "cluster (its context is tartlab-<cluster>) or remove the key to leave the current context alone",
    ]);
    assert.deepEqual(problems({ merge: false, currentContext: "dev" }), [
      'tartlab:kubeconfig.currentContext "dev" needs tartlab:kubeconfig.merge true (contexts are not merged into ' +
        "your kubeconfig, so none can become current); remove one of the two keys",
    ]);
    assert.deepEqual(problems({ marge: true }), [
      'tartlab:kubeconfig has an unknown key "marge"; did you mean "merge"?',
    ]);
    assert.deepEqual(validateLabConfig(devRawConfig()).config.kubeconfig, {
      merge: true,
      currentContext: undefined,
    });
  });
});
