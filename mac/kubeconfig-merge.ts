/**
 * Merges a cluster's `tartlab-<cluster>` entries into the user's kubeconfig (kind-style) and removes exactly
 * those, under a `<file>.lock` as kind's lock.go and client-go's loader.go take it, so tartlab, kind and
 * kubectl do not overwrite each other; the file is replaced atomically, mode 600.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { writeFileAtomic } from "./atomic-write";
import { contextName } from "../lib/kubeconfig";

type Named = { name?: unknown } & Record<string, unknown>;
type KubeconfigDoc = Record<string, unknown> & {
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  "current-context"?: string;
};

const LISTS = ["clusters", "users", "contexts"] as const;

/** client-go's precedence: the first path of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigTarget(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? "").split(path.delimiter).find((p) => p !== "");
  return first ?? path.join(env.HOME || os.homedir(), ".kube", "config");
}

function parseDoc(text: string, what: string): KubeconfigDoc {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${what} is not a kubeconfig mapping`);
  const d = doc as KubeconfigDoc;
  for (const key of LISTS) {
    if (d[key] !== undefined && d[key] !== null && !Array.isArray(d[key])) {
      throw new Error(`${what}: "${key}" must be a list`);
    }
  }
  return d;
}

function labEntry(lab: KubeconfigDoc, key: (typeof LISTS)[number], name: string): Named {
  const hits = (lab[key] ?? []).filter((e) => e?.name === name);
  if (hits.length !== 1) {
    throw new Error(`the cluster's kubeconfig has no ${key.slice(0, -1)} named "${name}" (is it tartlab's?)`);
  }
  return hits[0];
}

export interface MergeOptions {
  /** Off by default, so the user's current context stays. */
  readonly setCurrent?: boolean;
}

export function mergeKubeconfig(
  existing: string | undefined,
  labKubeconfig: string,
  cluster: string,
  opts: MergeOptions = {},
): string {
  const name = contextName(cluster);
  const lab = parseDoc(labKubeconfig, "the cluster's kubeconfig");
  const doc = parseDoc(existing ?? "", "the existing kubeconfig");
  const out: KubeconfigDoc = { apiVersion: "v1", kind: "Config", preferences: {}, ...doc };
  for (const key of LISTS) {
    const entry = labEntry(lab, key, name);
    out[key] = [...(doc[key] ?? []).filter((e) => e?.name !== name), entry];
  }
  if (opts.setCurrent) out["current-context"] = name;
  return stringify(out);
}

export function removeFromKubeconfig(existing: string, cluster: string): string {
  const name = contextName(cluster);
  const doc = parseDoc(existing, "the existing kubeconfig");
  const out: KubeconfigDoc = { ...doc };
  for (const key of LISTS) {
    if (Array.isArray(doc[key])) out[key] = doc[key].filter((e) => e?.name !== name);
  }
  // As kind does on delete.
  if (doc["current-context"] === name) out["current-context"] = "";
  return stringify(out);
}

export interface LockOptions {
  readonly timeoutMs?: number;
  readonly retryMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock held past the timeout is reported with its path, since after a crash the user must remove it. */
async function withKubeconfigLock<T>(file: string, fn: () => T, opts: LockOptions = {}): Promise<T> {
  const lock = `${file}.lock`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (Date.now() >= deadline) {
        throw new Error(
          `kubeconfig ${file} is locked by ${lock} (held for more than ${timeoutMs / 1000}s by kubectl, kind or ` +
            `another tartlab run); if no such command is running, the lock is stale: remove ${lock} and retry`,
        );
      }
      await sleep(opts.retryMs ?? 50 + Math.floor(Math.random() * 50));
    }
  }
  try {
    return fn();
  } finally {
    unlinkSync(lock);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

export interface FileOptions extends MergeOptions, LockOptions {
  readonly env?: NodeJS.ProcessEnv;
}

export async function mergeIntoKubeconfigFile(
  cluster: string,
  labKubeconfig: string,
  opts: FileOptions = {},
): Promise<string> {
  const file = kubeconfigTarget(opts.env);
  await withKubeconfigLock(
    file,
    () => writeFileAtomic(file, mergeKubeconfig(readIfExists(file), labKubeconfig, cluster, opts)),
    opts,
  );
  return file;
}

/** An absent file, or one without the entries, is left as it is. */
export async function removeFromKubeconfigFile(
  cluster: string,
  opts: FileOptions = {},
): Promise<{ file: string; removed: boolean }> {
  const file = kubeconfigTarget(opts.env);
  if (readIfExists(file) === undefined) return { file, removed: false };
  const removed = await withKubeconfigLock(
    file,
    () => {
      const current = readIfExists(file);
      if (current === undefined) return false;
      const updated = removeFromKubeconfig(current, cluster);
      if (JSON.stringify(parse(updated)) === JSON.stringify(parse(current) ?? {})) return false;
      writeFileAtomic(file, updated);
      return true;
    },
    opts,
  );
  return { file, removed };
}
