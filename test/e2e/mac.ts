/** What the Mac end-to-end tests share: the skip rule, a minimal Kubernetes client, bounded polling, tart's VM list. */
import { spawnSync } from "node:child_process";
import * as http from "node:http";
import * as https from "node:https";
import { parse } from "yaml";

const onPath = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;

export function skipReason(): string | undefined {
  const missing = ["tart", "pulumi"].filter((b) => !onPath(b));
  if (process.platform !== "darwin" || missing.length > 0) {
    return `Mac end-to-end test needs macOS with tart and pulumi on PATH (platform ${process.platform}${missing.length ? `, missing: ${missing.join(", ")}` : ""})`;
  }
  return undefined;
}

export interface Kube {
  request(
    method: string,
    urlPath: string,
    body?: unknown,
  ): Promise<{ status: number; json: any; text: string }>;
}

/** A minimal Kubernetes client from an admin kubeconfig (client certificates), no kubectl needed on the Mac. */
export function kubeClient(kubeconfig: string): Kube {
  const kc = parse(kubeconfig);
  const b64 = (s: string) => Buffer.from(s, "base64");
  const server = new URL(kc.clusters[0].cluster.server);
  const agent = new https.Agent({
    ca: b64(kc.clusters[0].cluster["certificate-authority-data"]),
    cert: b64(kc.users[0].user["client-certificate-data"]),
    key: b64(kc.users[0].user["client-key-data"]),
  });
  return {
    request: (method, urlPath, body) =>
      new Promise((resolve, reject) => {
        const req = https.request(
          {
            host: server.hostname,
            port: server.port,
            path: urlPath,
            method,
            agent,
            timeout: 30_000,
            headers: { "content-type": "application/json" },
          },
          (res) => {
            let data = "";
            res.on("data", (d) => (data += d));
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                // A pod's log is plain text; everything else the tests read is JSON.
                json: data && /json/.test(res.headers["content-type"] ?? "") ? JSON.parse(data) : undefined,
                text: data,
              }),
            );
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      }),
  };
}

export async function eventually<T>(
  what: string,
  seconds: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
  throw new Error(`gave up after ${seconds}s waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 15_000 }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

export const tartVms = (): string[] => {
  const r = spawnSync("tart", ["list", "--source", "local", "--format", "json"], { encoding: "utf8" });
  return (JSON.parse(r.stdout) as { Name: string }[]).map((v) => v.Name);
};
