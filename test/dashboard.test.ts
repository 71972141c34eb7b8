/**
 * `npm run dashboard` (ops/dashboard.ts, mac/dashboard.ts) without a browser: what it serves, that it serves the
 * same model as `npm run status -- --json`, that no secret of the fakes leaks, that it is read-only and that it
 * binds loopback only unless told. The page itself is tested in Chromium in test/dashboard.browser.test.ts.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { checkBindAddress, createDashboard, DashboardStatus, sharedCollector } from "../mac/dashboard";
import { isLoopback } from "../lib/ip";
import {
  dashboardExit,
  FakeLab,
  ROOT,
  RunningDashboard,
  STACK,
  startDashboard,
  startFakeLab,
} from "./harness/fake-lab";

/** A raw request (fetch cannot send a foreign Host header). */
function http(
  url: string,
  opts: { method?: string; host?: string } = {},
): Promise<{ code: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: opts.method ?? "GET",
        headers: opts.host ? { host: opts.host } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ code: res.statusCode ?? -1, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The first `status` event of /events. */
async function firstEvent(url: string): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(new URL("/events", url), { signal: ac.signal });
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = "";
  while (!/event: status\ndata: .*\n\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString("utf8");
  }
  ac.abort();
  return text;
}

function statusCli(lab: FakeLab): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "ops/status.ts"), "--dir", lab.sb.dir, "--stack", STACK, "--json"],
      { cwd: ROOT, env: lab.env(), stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", () => resolve(out));
  });
}

const withoutTime = (s: DashboardStatus) => ({ ...s, checkedAt: "-" });

/** A snapshot in the fake lab: its VMs with Tart's size of each. */
const SNAPSHOT = {
  name: "before-cni",
  createdAt: "2026-11-22T01:00:00.000Z",
  vms: [
    ["platform-master", 7],
    ["platform-worker1", 9],
    ["dev-master", 5],
  ],
} as const;

describe("npm run dashboard (fake tart, fake Kubernetes API)", () => {
  let lab: FakeLab;
  let dash: RunningDashboard;
  before(async () => {
    lab = await startFakeLab();
    lab.snapshot(SNAPSHOT.name, SNAPSHOT.createdAt, SNAPSHOT.vms);
    dash = await startDashboard(lab, ["--port", "0", "--interval", "1"]);
  });
  after(async () => {
    await dash?.stop();
    await lab?.close();
  });

  test("prints its loopback URL and serves the page, its script and style", async () => {
    assert.match(dash.stdout(), /^tartlab dashboard \(stack test\): http:\/\/127\.0\.0\.1:\d+\/\n$/);
    for (const [route, type] of [
      ["/", /^text\/html/],
      ["/app.js", /^text\/javascript/],
      ["/style.css", /^text\/css/],
    ] as const) {
      const r = await http(new URL(route, dash.url).href);
      assert.equal(r.code, 200, route);
      assert.match(String(r.headers["content-type"]), type);
      assert.match(String(r.headers["content-security-policy"]), /script-src 'self'/);
    }
    assert.equal((await http(new URL("/nope", dash.url).href)).code, 404);
  });

  test("its JSON is the model of npm run status -- --json (the page and the CLI never disagree)", async () => {
    const [page, cli] = await Promise.all([
      http(new URL("/api/status", dash.url).href).then((r) => JSON.parse(r.body) as DashboardStatus),
      statusCli(lab).then((o) => JSON.parse(o) as DashboardStatus),
    ]);
    assert.equal(page.healthy, true, JSON.stringify(page, null, 1));
    assert.deepEqual(withoutTime(page), withoutTime(cli));
    assert.ok(!Number.isNaN(Date.parse(page.checkedAt)));
  });

  test("lists the stack's snapshots (name, creation time, VMs, Tart's size) as tartlab snapshot list reads them", async () => {
    const page = JSON.parse((await http(new URL("/api/status", dash.url).href)).body) as DashboardStatus;
    assert.deepEqual(page.snapshots, [
      {
        name: SNAPSHOT.name,
        createdAt: SNAPSHOT.createdAt,
        vms: SNAPSHOT.vms.length,
        sizeGb: SNAPSHOT.vms.reduce((sum, [, size]) => sum + size, 0),
        problems: [],
      },
    ]);
    assert.equal(page.healthy, true, "snapshot VMs are not the lab's VMs");
  });

  test("no secret of the fakes in the page, script, JSON or event stream; the password is a command", async () => {
    const bodies = await Promise.all([
      ...["/", "/app.js", "/style.css", "/api/status"].map((r) =>
        http(new URL(r, dash.url).href).then((x) => x.body),
      ),
      firstEvent(dash.url),
    ]);
    const all = bodies.join("\n");
    assert.match(all, /event: status\ndata: \{"stack":"test"/);
    const secrets = lab.secrets();
    assert.ok(secrets.length >= 10 && secrets.every((s) => s.length >= 16), "the secrets are real values");
    for (const s of secrets) assert.ok(!all.includes(s), `secret ${s.slice(0, 12)}… served`);
    assert.doesNotMatch(all, /BEGIN [A-Z ]*PRIVATE KEY|client-key-data|client-certificate-data|token/i);
    assert.match(bodies[1], /pulumi stack output jenkinsAdminPassword --show-secrets --stack \$\{stack\}/);
    assert.ok(!lab.sb.calls().some((c) => c.startsWith("pulumi")), "pulumi was never asked for the password");
  });

  test("read-only: POST, PUT, PATCH, DELETE answer 405; nothing in Tart changed", async () => {
    const before = readdirSync(path.join(lab.sb.dir, "tart")).map((vm) =>
      readFileSync(path.join(lab.sb.dir, "tart", vm, "state"), "utf8"),
    );
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const route of ["/", "/api/status", "/events"]) {
        const r = await http(new URL(route, dash.url).href, { method });
        assert.equal(r.code, 405, `${method} ${route}`);
        assert.equal(r.headers.allow, "GET, HEAD");
      }
    }
    const head = await http(new URL("/", dash.url).href, { method: "HEAD" });
    assert.equal(head.code, 200);
    assert.equal(head.body, "");
    const after = readdirSync(path.join(lab.sb.dir, "tart")).map((vm) =>
      readFileSync(path.join(lab.sb.dir, "tart", vm, "state"), "utf8"),
    );
    assert.deepEqual(after, before);
    const tartVerbs = new Set(
      lab.sb
        .calls()
        .filter((c) => c.startsWith("tart "))
        .map((c) => c.split(" ")[1]),
    );
    assert.deepEqual([...tartVerbs].sort(), ["get", "ip", "list"], "only Tart's read commands");
    assert.ok(
      lab.sb
        .calls()
        .every((c) => !c.startsWith("tart list") || c === "tart list --source local --format json"),
      "T08: Tart state as JSON only",
    );
  });

  test("a request naming a foreign host is refused (DNS rebinding)", async () => {
    const r = await http(new URL("/api/status", dash.url).href, { host: "attacker.example:80" });
    assert.equal(r.code, 421);
    assert.equal((await http(new URL("/", dash.url).href, { host: "localhost:1" })).code, 200);
  });
});

describe("npm run dashboard: bind address and usage", () => {
  let lab: FakeLab;
  before(async () => (lab = await startFakeLab()));
  after(() => lab?.close());

  test("refuses a non-loopback address without --allow-remote, before listening", async () => {
    for (const host of ["0.0.0.0", "192.168.64.1", "::"]) {
      const r = await dashboardExit(lab, ["--host", host, "--port", "0"]);
      assert.equal(r.code, 2, host);
      assert.match(r.stderr, new RegExp(`--host ${host.replace(/\./g, "\\.")} is not a loopback address`));
      assert.match(r.stderr, /add --allow-remote if you mean it/);
      assert.equal(r.stdout, "");
    }
  });

  test("--allow-remote binds where told, and says it has no login", async () => {
    const d = await startDashboard(lab, ["--host", "0.0.0.0", "--allow-remote", "--port", "0"]);
    try {
      assert.match(d.url, /^http:\/\/0\.0\.0\.0:\d+\/$/);
      assert.match(d.stderr(), /listening on 0\.0\.0\.0, without a login/);
    } finally {
      await d.stop();
    }
  });

  test("bad usage or config: exit 2 with the reason", async () => {
    assert.match((await dashboardExit(lab, ["--port", "http"])).stderr, /--port http is not a port number/);
    assert.match((await dashboardExit(lab, ["--frob"])).stderr, /unknown argument --frob/);
    const r = await dashboardExit(lab, ["--stack", "nope"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no stack file .*Pulumi\.nope\.yaml/);
  });

  test("loopback is 127.0.0.0/8, ::1 and localhost; nothing else", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      assert.equal(isLoopback(h), true, h);
      assert.equal(checkBindAddress(h, false), undefined, h);
    }
    for (const h of ["0.0.0.0", "::", "192.168.64.1", "10.0.0.1", "example.com", "localhost.example"]) {
      assert.equal(isLoopback(h), false, h);
      assert.match(checkBindAddress(h, false) ?? "", /is not a loopback address/, h);
      assert.equal(checkBindAddress(h, true), undefined, h);
    }
  });
});

describe("one collection in flight", () => {
  const model = (n: number): DashboardStatus => ({
    stack: "t",
    checkedAt: new Date(n).toISOString(),
    healthy: true,
    created: true,
    vms: [],
    clusters: [],
    jenkins: { enabled: false, healthy: true, problems: [] },
  });

  // The timeout turns a collection that is never released (one per load, not shared) into a failure, not a hang.
  test(
    "concurrent page loads share one collection; the next load collects again",
    { timeout: 15_000 },
    async () => {
      let calls = 0;
      const pending: (() => void)[] = [];
      const releaseAll = () => pending.splice(0).forEach((r) => r());
      const dashboard = createDashboard({
        collect: () => {
          calls++;
          const n = calls;
          return new Promise((r) => pending.push(() => r(model(n))));
        },
        refreshMs: 60_000,
        allowRemote: false,
      });
      await new Promise<void>((r) => dashboard.server.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(dashboard.server.address() as AddressInfo).port}/api/status`;
      try {
        const loads = Array.from({ length: 5 }, () => http(url));
        while (calls === 0) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 200)); // every request has arrived and waits
        releaseAll();
        const bodies = (await Promise.all(loads)).map((r) => JSON.parse(r.body).checkedAt);
        assert.equal(calls, 1, "one collection for five concurrent loads");
        assert.deepEqual(new Set(bodies), new Set([model(1).checkedAt]));
        const next = http(url);
        while (calls === 1) await new Promise((r) => setTimeout(r, 10));
        releaseAll();
        assert.equal(JSON.parse((await next).body).checkedAt, model(2).checkedAt);
      } finally {
        releaseAll();
        await dashboard.close();
      }
    },
  );

  test(
    "open pages share one refresh loop, which stops when the last page leaves",
    { timeout: 15_000 },
    async () => {
      let calls = 0;
      const at: number[] = [];
      const dashboard = createDashboard({
        collect: async () => {
          at.push(Date.now());
          return model(++calls);
        },
        refreshMs: 100,
        allowRemote: false,
      });
      await new Promise<void>((r) => dashboard.server.listen(0, "127.0.0.1", r));
      const base = `http://127.0.0.1:${(dashboard.server.address() as AddressInfo).port}/`;
      try {
        /** The checkedAt of the first `count` events of one page. */
        const page = async (count: number, ac: AbortController) => {
          const res = await fetch(new URL("/events", base), { signal: ac.signal });
          const reader = res.body!.getReader();
          let text = "";
          const seen = () => [...text.matchAll(/"checkedAt":"([^"]+)"/g)].map((m) => m[1]);
          while (seen().length < count) text += Buffer.from((await reader.read()).value!).toString("utf8");
          return seen().slice(0, count);
        };
        const [a, b] = [new AbortController(), new AbortController()];
        await Promise.all([page(4, a), page(4, b)]);
        a.abort();
        b.abort();
        // One loop for all pages: a collection, the interval, the next (a loop per page collects in between).
        const gaps = at.slice(1).map((t, i) => t - at[i]);
        assert.ok(gaps.length >= 3 && gaps.every((g) => g >= 95), `collections ${gaps.join(", ")} ms apart`);
        await new Promise((r) => setTimeout(r, 400));
        const after = calls;
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(calls, after, "no collection once no page listens");
        assert.ok(after <= 7, `${after} collections for two pages of four events`);
      } finally {
        await dashboard.close();
      }
    },
  );

  test(
    "a collection that throws is reported to open pages, and the next reading follows",
    { timeout: 15_000 },
    async () => {
      let calls = 0;
      const dashboard = createDashboard({
        collect: async () => {
          if (++calls === 1) throw new Error("Unexpected end of JSON input");
          return model(calls);
        },
        refreshMs: 100,
        allowRemote: false,
      });
      await new Promise<void>((r) => dashboard.server.listen(0, "127.0.0.1", r));
      const ac = new AbortController();
      try {
        const url = `http://127.0.0.1:${(dashboard.server.address() as AddressInfo).port}/events`;
        const reader = (await fetch(url, { signal: ac.signal })).body!.getReader();
        let text = "";
        while (!text.includes("event: status"))
          text += Buffer.from((await reader.read()).value!).toString("utf8");
        assert.match(
          text,
          /event: failure\ndata: "Unexpected end of JSON input"\n\n(.|\n)*event: status\ndata: /,
        );
      } finally {
        ac.abort();
        await dashboard.close();
      }
    },
  );

  test("sharedCollector forgets a failed collection", async () => {
    let n = 0;
    const shared = sharedCollector(() =>
      ++n === 1 ? Promise.reject(new Error("x")) : Promise.resolve(model(n)),
    );
    await assert.rejects(Promise.all([shared(), shared()]), /x/);
    assert.equal(n, 1);
    assert.equal((await shared()).checkedAt, model(2).checkedAt);
  });
});
