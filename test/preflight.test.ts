/**
 * program.ts wiring of the pkgs.k8s.io package preflight (lib/package-index.ts): a minor whose index lacks what the
 * nodes install stops `up` and `preview` before any resource is registered; an unreachable index warns in preview
 * and stops `up`.
 */
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { describe, test } from "node:test";
import { program } from "../program";
import { NO_DRIFT } from "../lib/drift-report";
import { VERSIONS } from "../lib/versions";
import { MAC_FACTS, Recorder, devStackConfig, setStackConfig } from "./harness/pulumi";

const arm64 = (name: string, version: string, depends?: string) =>
  [
    `Package: ${name}`,
    "Architecture: arm64",
    `Version: ${version}`,
    ...(depends ? [`Depends: ${depends}`] : []),
    `Filename: arm64/${name}_${version}_arm64.deb`,
    `Description: ${name}`,
  ].join("\n");

const minor = VERSIONS.kubernetes;
const complete = [
  arm64("kubeadm", `${minor}.0-1.1`),
  arm64("kubelet", `${minor}.0-1.1`, "kubernetes-cni (>= 1.2.0), iptables (>= 1.4.21)"),
  arm64("kubectl", `${minor}.0-1.1`),
  arm64("cri-tools", `${minor}.0-1.1`),
  arm64("kubernetes-cni", "1.7.1-1.1"),
].join("\n\n");
const withoutCni = complete.replace(/Package: kubernetes-cni[^]*$/, "");

/** Evaluates program() as index.ts does; `inStack` runs it inside a stack (needed once resources register). */
async function run(preview: boolean, read: (minor: string) => Promise<string>, inStack = true) {
  const recorder = new Recorder();
  recorder.install({ preview });
  setStackConfig(devStackConfig());
  const reads: string[] = [];
  const revived: boolean[] = [];
  const go = () =>
    program({
      hostFacts: () => MAC_FACTS,
      drift: (_config, _owner, dryRun) => {
        revived.push(dryRun);
        return Promise.resolve(NO_DRIFT);
      },
      packageIndex: (m) => {
        reads.push(m);
        return read(m);
      },
    });
  // A rejection inside runInPulumiStack surfaces as an unhandled rejection, so refusals are awaited directly.
  const result = inStack ? pulumi.runtime.runInPulumiStack(go) : go();
  return { recorder, reads, revived, result };
}

describe("package preflight wiring (pkgs.k8s.io gaps)", () => {
  for (const preview of [false, true]) {
    test(`${preview ? "preview" : "up"}: an incomplete index stops the program before anything is registered`, async () => {
      const { recorder, reads, revived, result } = await run(
        preview,
        () => Promise.resolve(withoutCni),
        false,
      );
      await assert.rejects(
        result,
        /package preflight failed; nothing was created:[^]*kubernetes-cni: no arm64 package/,
      );
      assert.equal(reads[0], minor, "reads the configured minor's index first");
      assert.equal(recorder.registrations.length, 0);
      assert.deepEqual(revived, [], "no VM is started again (T09) for a run that is refused");
    });
  }

  test("up: an unreachable index stops the program", async () => {
    const { recorder, result } = await run(
      false,
      () => Promise.reject(new Error("could not read X: HTTP 503")),
      false,
    );
    await assert.rejects(result, /package preflight failed; nothing was created: could not read X: HTTP 503/);
    assert.equal(recorder.registrations.length, 0);
  });

  test("preview: an unreachable index only warns; the graph is still evaluated", async () => {
    const { recorder, result } = await run(true, () =>
      Promise.reject(new Error("could not read X: HTTP 503")),
    );
    await result;
    await recorder.settle();
    assert.ok(recorder.registrations.length > 0);
  });

  test("a complete index lets the lab through; dead VMs are then revived (T09)", async () => {
    const { recorder, revived, result } = await run(false, () => Promise.resolve(complete));
    await result;
    await recorder.settle();
    assert.deepEqual(revived, [false]);
    assert.ok(recorder.registrations.length > 0);
  });
});
