/**
 * The dashboard server (`npm run dashboard`) serves `npm run status`'s model as JSON and server-sent events
 * so that page and CLI never disagree; it is read-only, and concurrent requests share one collection so ten
 * tabs do not run ten sets of probes.
 */
import { readFileSync } from "node:fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import * as path from "node:path";
import { isLoopback } from "../lib/ip";
import { LabStatus } from "./status";

/** No build step. */
const DASHBOARD_UI_DIR = path.join(__dirname, "..", "ops", "dashboard");

const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/** Exactly what `npm run status -- --json` prints. */
export type DashboardStatus = { readonly stack: string } & LabStatus;

/** The page has no login, so anything but loopback must be asked for explicitly. */
export function checkBindAddress(host: string, allowRemote: boolean): string | undefined {
  if (isLoopback(host) || allowRemote) return undefined;
  return (
    `--host ${host} is not a loopback address; the dashboard has no login, so anyone who can reach ` +
    `${host} would see the lab. Use --host 127.0.0.1 (the default), or add --allow-remote if you mean it`
  );
}

export function sharedCollector(collect: () => Promise<DashboardStatus>): () => Promise<DashboardStatus> {
  let inFlight: Promise<DashboardStatus> | undefined;
  return () => {
    inFlight ??= collect().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

export interface DashboardOptions {
  readonly collect: () => Promise<DashboardStatus>;
  readonly refreshMs: number;
  /** DNS rebinding: a remote page must not read the JSON. */
  readonly allowRemote: boolean;
  readonly uiDir?: string;
}

export interface Dashboard {
  readonly server: Server;
  close(): Promise<void>;
}

const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function send(res: ServerResponse, code: number, type: string, body: string, extra: object = {}) {
  res.writeHead(code, { ...COMMON_HEADERS, "content-type": type, ...extra });
  res.end(body);
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  const uiDir = opts.uiDir ?? DASHBOARD_UI_DIR;
  // A missing file fails `npm run dashboard` at once, not the first page load.
  const assets = new Map(
    Object.entries(ASSETS).map(([route, a]) => [
      route,
      { type: a.type, body: readFileSync(path.join(uiDir, a.file), "utf8") },
    ]),
  );
  const collect = sharedCollector(opts.collect);
  const streams = new Set<ServerResponse>();
  let latest: DashboardStatus | undefined;
  let loop: Promise<void> | undefined;
  let closing = false;
  let wake: (() => void) | undefined;

  const fresh = () => collect().then((s) => (latest = s));
  const event = (s: DashboardStatus) => `event: status\ndata: ${JSON.stringify(s)}\n\n`;

  const runLoop = async () => {
    while (streams.size > 0 && !closing) {
      // A throwing collectStatus (a bug, or a tool's malformed output) is reported and the loop goes on, so
      // pages recover on the next reading.
      const message = await fresh().then(
        event,
        (e: Error) => `event: failure\ndata: ${JSON.stringify(e.message)}\n\n`,
      );
      for (const res of streams) res.write(message);
      await new Promise<void>((r) => {
        const t = setTimeout(r, opts.refreshMs);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    loop = undefined;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return send(res, 405, "text/plain; charset=utf-8", "read-only: only GET and HEAD\n", {
        allow: "GET, HEAD",
      });
    }
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (!opts.allowRemote && !isLoopback(host)) {
      return send(res, 421, "text/plain; charset=utf-8", "this dashboard answers only to a loopback host\n");
    }
    const route = new URL(req.url ?? "/", "http://x").pathname;
    const asset = assets.get(route);
    if (asset) return send(res, 200, asset.type, asset.body);
    if (route === "/api/status") {
      collect().then(
        (s) => {
          latest = s;
          send(res, 200, "application/json; charset=utf-8", `${JSON.stringify(s, null, 2)}\n`);
        },
        (e: Error) => send(res, 500, "text/plain; charset=utf-8", `status failed: ${e.message}\n`),
      );
      return;
    }
    if (route === "/events") {
      res.writeHead(200, { ...COMMON_HEADERS, "content-type": "text/event-stream; charset=utf-8" });
      if (req.method === "HEAD") return res.end();
      res.write("retry: 2000\n\n");
      if (latest && Date.now() - Date.parse(latest.checkedAt) < opts.refreshMs) res.write(event(latest));
      streams.add(res);
      res.on("close", () => streams.delete(res));
      loop ??= runLoop();
      return;
    }
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
  };

  const server = createServer(handler);
  return {
    server,
    async close() {
      closing = true;
      wake?.();
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await loop;
    },
  };
}
