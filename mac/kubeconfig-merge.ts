/**
 * kind-style kubectl contexts: merge one cluster's `tartlab-<cluster>` cluster/user/context (as
 * lib/kubeconfig.ts names them) into the user's kubeconfig, and remove exactly those entries again. Everything
 * else in the file (other clusters, users, contexts, preferences, extensions, current-context) is kept.
 *
 * The merge itself is pure (string in, string out, parsed with the `yaml` package). The file side follows kind
 * (github.com/kubernetes-sigs/kind/blob/main/pkg/cluster/internal/kubeconfig/internal/kubeconfig/lock.go) and
 * client-go (github.com/kubernetes/client-go/blob/master/tools/clientcmd/loader.go): a `<file>.lock` created
 * with O_CREAT|O_EXCL, retried for a bounded time and removed afterwards, so tartlab, kind and kubectl do not overwrite each other's edits. The file is replaced
 * atomically (temp file in the same directory + rename) and created with mode 600 (its dir 700) when absent.
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

/** The file kubectl writes to: the first path of $KUBECONFIG, else ~/.kube/config (client-go's precedence). */
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

/** Picks the one entry named `name` from the lab's own kubeconfig (written by lib/kubeconfig.ts). */
function labEntry(lab: KubeconfigDoc, key: (typeof LISTS)[number], name: string): Named {
  const hits = (lab[key] ?? []).filter((e) => e?.name === name);
  if (hits.length !== 1) {
    throw new Error(`the cluster's kubeconfig has no ${key.slice(0, -1)} named "${name}" (is it tartlab's?)`);
  }
  return hits[0];
}

export interface MergeOptions {
  /** Make `tartlab-<cluster>` the current context (only when the user asks; default: leave it unchanged). */
  readonly setCurrent?: boolean;
}

/**
 * Returns `existing` (a kubeconfig's text, or undefined/"" for none) with the lab's cluster, user and context for
 * `cluster` added, replacing any earlier entries of that name. Pure.
 */
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

/** Returns `existing` without the cluster, user and context named `tartlab-<cluster>`; nothing else changes. */
export function removeFromKubeconfig(existing: string, cluster: string): string {
  const name = contextName(cluster);
  const doc = parseDoc(existing, "the existing kubeconfig");
  const out: KubeconfigDoc = { ...doc };
  for (const key of LISTS) {
    if (Array.isArray(doc[key])) out[key] = doc[key].filter((e) => e?.name !== name);
  }
  // As kind does on delete: a current context that no longer exists is cleared.
  if (doc["current-context"] === name) out["current-context"] = "";
  return stringify(out);
}

export interface LockOptions {
  /** How long to keep retrying a held lock before giving up. */
  readonly timeoutMs?: number;
  readonly retryMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` holding `<file>.lock` (O_CREAT|O_EXCL, as kind and client-go). A lock that stays held past the
 * timeout is reported with its path: after a crash it is stale and the user removes it.
 */
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

/** Merges the cluster's context into the user's kubeconfig file (under the lock). Returns the file's path. */
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

/**
 * Removes the cluster's entries from the user's kubeconfig file (under the lock). Returns the file and whether
 * it held any; an absent file or one without them is left as it is.
 */
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
