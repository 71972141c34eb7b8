import { IndexNotFound } from "../lib/package-index";

/** Says nothing about the packages. */
class IndexUnreachable extends Error {}
export async function fetchText(url: string, timeoutMs = 20_000): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  } catch (e) {
    const why =
      e instanceof Error && e.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000}s` : String(e);
    throw new IndexUnreachable(`could not read ${url}: ${why}`);
  }
  if (res.status === 404) throw new IndexNotFound(`${url} does not exist (HTTP 404)`);
  if (!res.ok) throw new IndexUnreachable(`could not read ${url}: HTTP ${res.status}`);
  return res.text();
}
