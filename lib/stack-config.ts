/**
 * The one loader of a stack's lab config, for `pulumi up` and every command alike, so a stack one refuses the
 * other refuses too; free of the Pulumi SDK, which takes over a second to load.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import {
  LabConfig,
  LabConfigError,
  NS,
  RawConfig,
  ValidatedConfig,
  unknownKeyProblem,
  validateLabConfig,
} from "./lab-config";

/** A key that is neither one of these nor a secret is refused. */
const LAB_KEYS: readonly (keyof LabConfig)[] = [
  "kubernetesVersion",
  "ciliumVersion",
  "baseImage",
  "sshUser",
  "vmNetworkCidr",
  "softnetAllow",
  "ipWaitSeconds",
  "allowDataLoss",
  "goldenImage",
  "clusters",
  "jenkins",
  "kubeconfig",
  "clusterMesh",
];
/** Only `pulumi up` reads them (lib/config.ts). */
const SECRET_KEYS = ["sshPassword", "sshPrivateKey"] as const;
/** The Pulumi CLI hands these to the program as JSON text, a stack file as YAML values. */
const OBJECT_KEYS: ReadonlySet<string> = new Set(["clusters", "jenkins", "kubeconfig", "clusterMesh"]);

/** Other namespaces are other programs' and ignored; throws LabConfigError listing every problem. */
export function labConfigFrom(entries: Readonly<Record<string, unknown>>): ValidatedConfig {
  const known = [...LAB_KEYS, ...SECRET_KEYS] as string[];
  const unknown = Object.keys(entries)
    .filter((k) => k.startsWith(`${NS}:`) && !known.includes(k.slice(NS.length + 1)))
    .map((k) =>
      unknownKeyProblem(
        `${NS} config`,
        k,
        known.map((key) => `${NS}:${key}`),
      ),
    );
  const raw: RawConfig = {};
  for (const key of LAB_KEYS) {
    let v = entries[`${NS}:${key}`];
    if (OBJECT_KEYS.has(key) && typeof v === "string") {
      try {
        v = JSON.parse(v);
      } catch {
        // not JSON: validation reports its type with the key
      }
    }
    raw[key] = v;
  }
  let validated: ValidatedConfig | undefined;
  let problems = unknown;
  try {
    validated = validateLabConfig(raw);
  } catch (e) {
    if (!(e instanceof LabConfigError)) throw e;
    problems = [...unknown, ...e.problems];
  }
  if (problems.length > 0) throw new LabConfigError(problems);
  return validated!;
}

/** Validated exactly as `pulumi up` validates it. */
export function loadStackFile(dir: string, stack: string): ValidatedConfig {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    throw new Error(`no stack file ${file}; name the stack with --stack <name> (or $TARTLAB_STACK)`);
  }
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  return labConfigFrom(doc?.config ?? {});
}
