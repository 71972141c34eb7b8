/**
 * The dashboard page in a real headless Chromium (Debian's `chromium`, driven by playwright-core; .ci/run installs
 * it), served by `npm run dashboard` against the fake lab (fake tart, fake Kubernetes API servers, a Jenkins
 * stand-in). It asserts what a person sees, and that the page updates live when the lab changes, without a reload.
 * Screenshots go to test-artifacts/ (git-ignored); `npm run dashboard:screenshot` also writes docs/dashboard.png.
 * Without Chromium it skips with the reason, except in CI (CI=true), where it must run.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { parse } from "yaml";
import { FakeLab, ROOT, RunningDashboard, startDashboard, startFakeLab } from "./harness/fake-lab";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(ROOT, "test-artifacts");
/** Set by `npm run dashboard:screenshot`: where the README's screenshot goes. */
const README_SHOT = process.env.TARTLAB_DASHBOARD_SCREENSHOT;
const PROBE_S = 3;
const inCi = process.env.CI === "true" || process.env.CI === "1";

const skip =
  !existsSync(CHROMIUM) && !inCi
    ? `${CHROMIUM} not found (Debian: apt-get install -y chromium; .ci/run installs it)`
    : false;

/** The text of every element matching `sel`, as a person reads it. */
const texts = (page: Page, sel: string) => page.locator(sel).allInnerTexts();
const text = async (page: Page, sel: string) => (await page.locator(sel).innerText()).trim();

/** Waits until `sel` reads `want` (the page updates itself from /events). */
async function until(page: Page, sel: string, want: string | RegExp, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  let last = "";
  while (Date.now() < deadline) {
    const loc = page.locator(sel);
    last = (await loc.count()) > 0 ? (await loc.first().innerText()).trim() : "(absent)";
    if (typeof want === "string" ? last === want : want.test(last)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${sel} still reads ${JSON.stringify(last)} after ${timeout} ms, wanted ${want}`);
}

const vmCell = (vm: string, col: string) => `tr[data-vm="${vm}"] td[data-col="${col}"]`;
const nodeCell = (cluster: string, node: string, col: string) =>
  `article[data-cluster="${cluster}"] tr[data-node="${node}"] td[data-col="${col}"]`;
const field = (cluster: string, f: string) => `article[data-cluster="${cluster}"] [data-field="${f}"]`;

/** T08: no empty cell, and no bare number where a state, an address or a version belongs. */
async function everyCellSaysSomething(page: Page) {
  const cells = await page.locator("td, dd").allInnerTexts();
  assert.ok(cells.length > 30, `${cells.length} cells`);
  for (const c of cells) assert.notEqual(c.trim(), "", "an empty cell");
  for (const sel of [
    'td[data-col="state"]',
    'td[data-col="ip"]',
    'td[data-col="ready"]',
    '[data-field="api"]',
  ]) {
    for (const c of await texts(page, sel)) assert.doesNotMatch(c.trim(), /^\d+$/, `${sel} reads ${c}`);
  }
}

describe("the dashboard page in headless Chromium", { skip }, () => {
  let lab: FakeLab;
  let dash: RunningDashboard;
  let browser: Browser;
  let page: Page;
  let navigations = 0;

  const shot = async (name: string) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
  };
  /** The same document since the first load: no reload, no navigation. */
  const sameDocument = async (timeOrigin: number) => {
    assert.equal(await page.evaluate(() => performance.timeOrigin), timeOrigin, "the page was reloaded");
    assert.equal(await page.evaluate(() => (globalThis as any).__sameDocument), true);
    assert.equal(navigations, 1, "one navigation only");
  };

  before(async () => {
    // In CI the browser test must run: a missing Chromium is a failure there, with the fix.
    if (!existsSync(CHROMIUM))
      throw new Error(`CI: ${CHROMIUM} is missing; .ci/run installs Debian's chromium`);
    const { chromium } = await import("playwright-core");
    lab = await startFakeLab();
    // Probe deadline: short enough that a hung API server shows within the test, long enough for a loaded CI box.
    dash = await startDashboard(lab, ["--port", "0", "--interval", "0.5", "--timeout", String(PROBE_S)]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Flags from .library/env/machines/node.md: --no-sandbox as root; no background networking on a closed net.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    await page.goto(dash.url);
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
  });
  after(async () => {
    await browser?.close();
    await dash?.stop();
    await lab?.close();
  });

  test("the healthy lab: clusters, nodes, VMs, Jenkins, a green banner, when it was read", async () => {
    await until(page, "#banner", /^Lab healthy/);
    assert.equal(await text(page, "#stack"), "stack test");
    assert.deepEqual(await texts(page, "article[data-cluster] h3"), ["cluster platform", "cluster dev"]);
    assert.equal(await text(page, field("platform", "api")), "reachable (v1.34.1)");
    assert.equal(await text(page, field("platform", "ready")), "2 of 2");
    assert.equal(await text(page, field("platform", "cilium")), "2/2 agents ready");
    assert.equal(await text(page, field("platform", "storage")), "local-path");
    assert.deepEqual(
      await page
        .locator('article[data-cluster="platform"] tbody tr')
        .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.innerText))),
      [
        ["platform-master", "control-plane", "Ready", "v1.34.1", "127.0.0.1"],
        ["platform-worker1", "worker", "Ready", "v1.34.1", "192.168.64.11"],
      ],
    );
    assert.deepEqual(
      await page
        .locator("#vms tbody tr")
        .evaluateAll((rows) =>
          rows.map((r) => [...r.querySelectorAll("td")].slice(0, 8).map((td) => td.innerText)),
        ),
      [
        [
          "platform-master",
          "platform",
          "control-plane",
          "running",
          "127.0.0.1",
          "2",
          "4096 MB",
          "tartlab/test",
        ],
        [
          "platform-worker1",
          "platform",
          "worker",
          "running",
          "192.168.64.11",
          "2",
          "4096 MB",
          "tartlab/test",
        ],
        ["dev-master", "dev", "control-plane", "running", "192.168.64.12", "2", "4096 MB", "tartlab/test"],
      ],
    );
    // How to connect: kubectl's context and the API server per cluster, a shell per VM.
    assert.equal(
      await text(page, field("platform", "context")),
      "kubectl --context tartlab-platform get nodes",
    );
    assert.equal(await text(page, field("platform", "server")), lab.platform.url);
    assert.equal(await text(page, field("dev", "server")), lab.dev.url);
    assert.deepEqual(await texts(page, 'td[data-col="connect"]'), [
      "tartlab ssh platform-master --stack test",
      "tartlab ssh platform-worker1 --stack test",
      "tartlab ssh dev-master --stack test",
    ]);
    const jenkinsUrl = `http://127.0.0.1:${lab.jenkins.port}`;
    assert.equal(await page.locator('[data-field="jenkins-url"] a').getAttribute("href"), jenkinsUrl);
    assert.equal(await text(page, '[data-field="jenkins-state"]'), "reachable (HTTP 200)");
    assert.match(
      await text(page, '[data-field="jenkins-password"]'),
      /pulumi stack output jenkinsAdminPassword --show-secrets --stack test/,
    );
    assert.match(await text(page, "#checked-at"), /^read at .+ \(\d+ s ago\)$/);
    const read = Date.parse((await page.locator("#checked-at").getAttribute("data-checked-at")) ?? "");
    assert.ok(Math.abs(Date.now() - read) < 30_000, "read just now");
    assert.equal(await text(page, "#connection"), "live");
    await everyCellSaysSomething(page);
    await shot("healthy");
    if (README_SHOT) {
      await page.screenshot({ path: path.resolve(ROOT, README_SHOT), fullPage: true });
    }
  });

  test("no secret of the fakes in the rendered page", async () => {
    const html = await page.content();
    for (const s of lab.secrets()) assert.ok(!html.includes(s), `secret ${s.slice(0, 12)}… on the page`);
    assert.ok(!lab.sb.calls().some((c) => c.startsWith("pulumi")));
  });

  test("snapshots: none yet says how to save one; a saved one appears live with its age, VMs, size and restore line", async () => {
    const timeOrigin = await page.evaluate(() => performance.timeOrigin);
    await until(
      page,
      "#snapshots tbody",
      "no snapshots; save one: tartlab snapshot save <name> --stack test",
    );
    lab.snapshot("before-cni", new Date(Date.now() - 2 * 3600_000).toISOString(), [
      ["platform-master", 7],
      ["platform-worker1", 9],
      ["dev-master", 5],
    ]);
    const cell = (col: string) => `#snapshots tr[data-snapshot="before-cni"] td[data-col="${col}"]`;
    await until(page, cell("name"), "before-cni");
    assert.equal(await text(page, cell("age")), "2 h ago");
    assert.equal(await text(page, cell("vms")), "3 VMs");
    assert.equal(await text(page, cell("size")), "21 GB");
    assert.equal(await text(page, cell("restore")), "tartlab snapshot restore before-cni --stack test");
    assert.equal(await text(page, cell("problems")), "none");
    await until(page, "#banner", /^Lab healthy/);
    await everyCellSaysSomething(page);
    await sameDocument(timeOrigin);
    await shot("snapshot");
  });

  test("live: a stopped VM and a VM without IP appear without a reload, with the banner", async () => {
    const timeOrigin = await page.evaluate(() => performance.timeOrigin);
    const firstRead = await page.locator("#checked-at").getAttribute("data-checked-at");
    lab.vm("platform-worker1", "stopped", "192.168.64.11"); // its lease file still holds the old address
    lab.vm("dev-master", "running"); // no DHCP lease
    await until(page, vmCell("platform-worker1", "state"), "stopped");
    await until(page, vmCell("dev-master", "ip"), "no IP");
    assert.equal(
      await text(page, vmCell("platform-worker1", "ip")),
      "no IP",
      "no stale address for a stopped VM",
    );
    assert.equal(await text(page, vmCell("dev-master", "state")), "running");
    assert.equal(await text(page, vmCell("platform-worker1", "cpus")), "2");
    assert.match(
      await text(page, vmCell("platform-worker1", "problems")),
      /is stopped; tartlab start starts it again/,
    );
    assert.equal(await text(page, vmCell("platform-worker1", "connect")), "tartlab start --stack test");
    await until(page, "#banner", /^Something is wrong: 2 problems/);
    const banner = await texts(page, "#banner li");
    assert.ok(
      banner.some((l) => /^VM platform-worker1: is stopped/.test(l)),
      banner.join("\n"),
    );
    assert.ok(
      banner.some((l) => /^VM dev-master: running but has no IP address/.test(l)),
      banner.join("\n"),
    );
    assert.equal(await page.locator("#banner").getAttribute("role"), "alert");
    assert.equal(await text(page, nodeCell("platform", "platform-worker1", "ip")), "no IP");
    assert.notEqual(await page.locator("#checked-at").getAttribute("data-checked-at"), firstRead);
    await everyCellSaysSomething(page);
    await sameDocument(timeOrigin);
    await shot("stopped-vm-no-ip");
  });

  test("an API server that does not answer, and a NotReady node", async () => {
    const timeOrigin = await page.evaluate(() => performance.timeOrigin);
    lab.heal();
    await until(page, "#banner", /^Lab healthy/);
    lab.platform.state.hang = true;
    lab.dev.state.nodes[0].ready = false;
    await until(page, field("platform", "api"), "unreachable");
    await until(page, nodeCell("dev", "dev-master", "ready"), "NotReady");
    assert.equal(await text(page, field("platform", "nodes")), "nodes unknown (API unreachable)");
    assert.equal(await text(page, field("platform", "cilium")), "unknown (API unreachable)");
    assert.equal(await text(page, field("platform", "storage")), "unknown (API unreachable)");
    assert.equal(await text(page, field("dev", "ready")), "0 of 1");
    const banner = await texts(page, "#banner li");
    assert.ok(
      banner.some(
        (l) =>
          l ===
          `cluster platform: API server ${lab.platform.url} does not answer: no answer in ${PROBE_S * 1000} ms`,
      ),
      banner.join("\n"),
    );
    assert.ok(banner.includes("cluster dev: node dev-master is NotReady"), banner.join("\n"));
    assert.equal(await page.locator('article[data-cluster="platform"]').getAttribute("class"), "card bad");
    await everyCellSaysSomething(page);
    await shot("api-down-notready");
    lab.heal();
    await until(page, "#banner", /^Lab healthy/);
    assert.equal(await text(page, field("platform", "api")), "reachable (v1.34.1)");
    await sameDocument(timeOrigin);
  });

  test("before the first pulumi up: one calm line, not a problem per VM; a VM another stack made shows its owner", async () => {
    const timeOrigin = await page.evaluate(() => performance.timeOrigin);
    const vms = ["platform-master", "platform-worker1", "dev-master"];
    for (const vm of vms) rmSync(path.join(lab.sb.dir, "tart", vm), { recursive: true, force: true });
    await until(page, "#banner", "Not created yet: run pulumi up (stack test).");
    assert.equal(await page.locator("#banner").getAttribute("role"), "status");
    assert.equal(await page.locator("#banner li").count(), 0, "no list of problems");
    assert.deepEqual(await texts(page, 'td[data-col="owner"]'), [
      "not created",
      "not created",
      "not created",
    ]);
    assert.deepEqual(await texts(page, 'td[data-col="connect"]'), [
      "run pulumi up",
      "run pulumi up",
      "run pulumi up",
    ]);
    await shot("before-first-up");
    lab.heal();
    // A VM of this name that another stack made: the Owner column says whose it is.
    writeFileSync(path.join(lab.sb.home, ".tartlab", "vms", "dev-master.owner"), "tartlab/other\n");
    await until(page, vmCell("dev-master", "owner"), "tartlab/other");
    rmSync(path.join(lab.sb.home, ".tartlab", "vms", "dev-master.owner"));
    await until(page, vmCell("dev-master", "owner"), "no owner marker (not made by tartlab)");
    lab.heal();
    await until(page, "#banner", /^Lab healthy/);
    await sameDocument(timeOrigin);
  });

  test("ClusterMesh: no section without a mesh; with one, each pair connected or not, live", async () => {
    assert.equal(await page.locator("#mesh-section").isHidden(), true, "the mesh is off in this stack");
    lab.heal();
    // The stack file cannot switch the mesh on here, so this dashboard runs in-process on the same fake lab.
    const [{ collectStatus }, { createDashboard }, { labConfigFrom }] = await Promise.all([
      import("../mac/status"),
      import("../mac/dashboard"),
      import("../lib/stack-config"),
    ]);
    const stack = parse(readFileSync(path.join(lab.sb.dir, "Pulumi.test.yaml"), "utf8")).config;
    const config = { ...labConfigFrom(stack).config, clusterMesh: ["platform", "dev"] };
    const meshed = createDashboard({
      collect: async () => ({
        stack: "test",
        ...(await collectStatus(config, { env: lab.env(), probeTimeoutMs: PROBE_S * 1000 })),
      }),
      refreshMs: 500,
      allowRemote: false,
    });
    await new Promise<void>((r) => meshed.server.listen(0, "127.0.0.1", r));
    const server = (readiness: Record<string, 0 | 1>) => [
      { name: "clustermesh-apiserver-7d9f", phase: "Running" as const, metricsPort: 9964, readiness },
    ];
    lab.platform.state.clustermesh = server({ dev: 1 });
    lab.dev.state.clustermesh = server({ platform: 1 });
    const meshPage = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    try {
      await meshPage.goto(`http://127.0.0.1:${(meshed.server.address() as AddressInfo).port}/`);
      const cell = (col: string) => `#mesh tr[data-pair="platform dev"] td[data-col="${col}"]`;
      await until(meshPage, cell("state"), "connected");
      assert.equal(await text(meshPage, cell("clusters")), "platform <-> dev");
      assert.deepEqual(await texts(meshPage, `${cell("links")} li`), [
        "platform -> dev: connected",
        "dev -> platform: connected",
      ]);
      await until(meshPage, "#banner", /^Lab healthy/);
      await everyCellSaysSomething(meshPage);
      lab.dev.state.clustermesh = server({ platform: 0 });
      await until(meshPage, cell("state"), "not connected");
      assert.deepEqual(await texts(meshPage, `${cell("links")} li`), [
        "platform -> dev: connected",
        "dev -> platform: not connected (KVStoreMesh reports it not ready)",
      ]);
      await until(meshPage, "#banner", /^Something is wrong: 1 problem/);
      assert.deepEqual(await texts(meshPage, "#banner li"), ["ClusterMesh platform <-> dev: not connected"]);
      lab.platform.state.hang = true;
      await until(meshPage, cell("state"), "unknown");
      await meshPage.screenshot({ path: path.join(ARTIFACTS, "dashboard-mesh.png"), fullPage: true });
    } finally {
      await meshPage.close();
      await meshed.close();
      lab.platform.state.clustermesh = undefined;
      lab.dev.state.clustermesh = undefined;
      lab.heal();
    }
  });

  test("the page says when the dashboard server is gone", async () => {
    await dash.stop();
    await until(page, "#connection", "dashboard server unreachable, retrying");
    // The last reading stays on the page, with its time.
    assert.match(await text(page, "#checked-at"), /^read at /);
  });
});

// Keep the artifact dir from filling up across runs: each run writes its own set.
if (!skip) rmSync(ARTIFACTS, { recursive: true, force: true });
