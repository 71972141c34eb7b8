/**
 * The one loader of a stack's lab config: `pulumi up` (lib/config.ts, from the Pulumi runtime) and every command
 * (from the stack file) turn the stack's `tartlab:*` entries into a LabConfig here, so a stack one refuses the other
 * refuses too. Free of the Pulumi SDK, which takes over a second to load, so the commands start fast.
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

/** Every lab key of the stack config; a key that is neither one of these nor a secret is refused. */
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
/** Secrets: only `pulumi up` reads them (lib/config.ts); a command never does. */
const SECRET_KEYS = ["sshPassword", "sshPrivateKey"] as const;
/** Structured keys: the Pulumi CLI hands them to the program as JSON text, a stack file as YAML values. */
const OBJECT_KEYS: ReadonlySet<string> = new Set(["clusters", "jenkins", "kubeconfig", "clusterMesh"]);

/**
 * The lab from a stack's config entries (`{ "tartlab:clusters": … }`; other namespaces are other programs' and
 * ignored). Throws LabConfigError listing every problem, unknown keys included.
 */
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

/** The lab described by `<dir>/Pulumi.<stack>.yaml`, validated exactly as `pulumi up` validates it. */
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
