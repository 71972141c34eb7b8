/* global document, window, EventSource */
// Every cell names a state in words, never an empty cell or a bare number (T08), and text is set with
// textContent only, since the model carries strings from tools and servers.
"use strict";

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof window.Node ? c : String(c));
  return e;
}

const yesNo = (ok, yes, no) => el("span", { class: ok ? "good" : "fail" }, ok ? yes : no);

function problemList(items) {
  if (items.length === 0) return el("span", { class: "none" }, "none");
  return el("ul", { class: "problems" }, ...items.map((p) => el("li", {}, p)));
}

function problemsOf(s) {
  return [
    ...s.vms.flatMap((v) => v.problems.map((p) => `VM ${v.name}: ${p}`)),
    ...s.clusters.flatMap((c) => c.problems.map((p) => `cluster ${c.name}: ${p}`)),
    ...s.jenkins.problems.map((p) => `Jenkins: ${p}`),
    ...(s.mesh ? s.mesh.pairs : [])
      .filter((p) => p.state !== "connected")
      .map((p) => `ClusterMesh ${p.clusters[0]} <-> ${p.clusters[1]}: ${p.state}`),
  ];
}

function renderBanner(s) {
  const banner = $("#banner");
  if (s.created === false) {
    // Before the first `up` every VM is "absent": one calm line, not a problem per VM and cluster.
    banner.className = "banner pending";
    banner.setAttribute("role", "status");
    banner.replaceChildren(`Not created yet: run pulumi up (stack ${s.stack}).`);
    return;
  }
  const problems = problemsOf(s);
  if (s.healthy && problems.length === 0) {
    banner.className = "banner ok";
    banner.setAttribute("role", "status");
    banner.replaceChildren(
      "Lab healthy: every VM runs with an IP, every API server answers, every node is Ready.",
    );
    return;
  }
  banner.className = "banner bad";
  banner.setAttribute("role", "alert");
  const n = problems.length;
  banner.replaceChildren(
    el("strong", {}, `Something is wrong: ${n} problem${n === 1 ? "" : "s"}`),
    el("ul", {}, ...problems.map((p) => el("li", {}, p))),
  );
}

function ciliumText(c) {
  if (c.cilium) return `${c.cilium.ready}/${c.cilium.desired} agents ready`;
  if (!c.apiReachable) return "unknown (API unreachable)";
  return c.problems.some((p) => p.startsWith("Cilium is not installed")) ? "not installed" : "unreadable";
}

function storageText(c) {
  if (typeof c.defaultStorageClass === "string") return c.defaultStorageClass;
  if (c.defaultStorageClass === null) return "none";
  return c.apiReachable ? "unreadable" : "unknown (API unreachable)";
}

function renderCluster(c, vms) {
  const ciliumOk = !!c.cilium && c.cilium.desired > 0 && c.cilium.ready >= c.cilium.desired;
  const nodes = c.nodes
    ? el(
        "table",
        { class: "nodes" },
        el(
          "thead",
          {},
          el("tr", {}, ...["Node", "Role", "Ready", "Version", "IP"].map((h) => el("th", {}, h))),
        ),
        el(
          "tbody",
          {},
          ...c.nodes.items.map((n) => {
            const vm = vms.find((v) => v.name === n.name);
            return el(
              "tr",
              { "data-node": n.name },
              el("td", { "data-col": "name" }, n.name),
              el("td", { "data-col": "role" }, vm ? vm.role : "not in this stack"),
              el("td", { "data-col": "ready" }, yesNo(n.ready, "Ready", "NotReady")),
              el("td", { "data-col": "version" }, n.kubeletVersion),
              el("td", { "data-col": "ip" }, vm && vm.ip ? vm.ip : "no IP"),
            );
          }),
        ),
      )
    : el(
        "p",
        { class: "fail", "data-field": "nodes" },
        c.apiReachable ? "nodes unreadable" : "nodes unknown (API unreachable)",
      );
  return el(
    "article",
    { class: `card ${c.healthy ? "ok" : "bad"}`, "data-cluster": c.name },
    el("h3", {}, `cluster ${c.name}`),
    el(
      "dl",
      {},
      el("dt", {}, "API server"),
      el(
        "dd",
        { "data-field": "api" },
        yesNo(c.apiReachable, `reachable (${c.serverVersion || "version unknown"})`, "unreachable"),
      ),
      el("dt", {}, "Nodes Ready"),
      el(
        "dd",
        { "data-field": "ready" },
        c.nodes ? `${c.nodes.ready} of ${c.nodes.total}` : c.apiReachable ? "unreadable" : "unknown",
      ),
      el("dt", {}, "Cilium"),
      el("dd", { "data-field": "cilium", class: ciliumOk ? "good" : "fail" }, ciliumText(c)),
      el("dt", {}, "Default StorageClass"),
      el(
        "dd",
        { "data-field": "storage", class: typeof c.defaultStorageClass === "string" ? "" : "fail" },
        storageText(c),
      ),
      el("dt", {}, "kubectl"),
      el("dd", { "data-field": "context" }, el("code", {}, `kubectl --context ${c.context} get nodes`)),
      el("dt", {}, "API server URL"),
      el("dd", { "data-field": "server" }, c.server || "not created yet: run pulumi up"),
      el("dt", {}, "kubeconfig"),
      el("dd", { "data-field": "kubeconfig" }, el("code", {}, c.kubeconfig)),
    ),
    nodes,
    el("div", { class: "problems-box", "data-field": "problems" }, "Problems: ", problemList(c.problems)),
  );
}

function ownerText(v) {
  if (v.owner) return v.owner;
  return v.state === "absent" ? "not created" : "no owner marker (not made by tartlab)";
}

function connectText(v, stack) {
  if (v.state === "absent") return "run pulumi up";
  if (v.state !== "running") return el("code", {}, `tartlab start --stack ${stack}`);
  return el("code", {}, `tartlab ssh ${v.name} --stack ${stack}`);
}

function renderVm(v, stack) {
  const stateClass = v.state === "running" ? "good" : "fail";
  return el(
    "tr",
    { "data-vm": v.name },
    el("td", { "data-col": "name" }, v.name),
    el("td", { "data-col": "cluster" }, v.cluster),
    el("td", { "data-col": "role" }, v.role),
    el("td", { "data-col": "state", class: stateClass }, v.state),
    el("td", { "data-col": "ip", class: v.ip ? "" : "fail" }, v.ip || "no IP"),
    el("td", { "data-col": "cpus" }, typeof v.cpus === "number" ? `${v.cpus}` : "unknown"),
    el("td", { "data-col": "memory" }, typeof v.memoryMb === "number" ? `${v.memoryMb} MB` : "unknown"),
    el("td", { "data-col": "owner" }, ownerText(v)),
    el("td", { "data-col": "connect" }, connectText(v, stack)),
    el("td", { "data-col": "problems" }, problemList([...v.problems, ...v.notes])),
  );
}

function renderJenkins(j, stack) {
  const box = $("#jenkins");
  if (!j.enabled) {
    box.className = "card";
    box.replaceChildren(el("p", { "data-field": "jenkins-state" }, "disabled in this stack"));
    return;
  }
  box.className = `card ${j.healthy ? "ok" : "bad"}`;
  const reach =
    j.httpStatus !== undefined && j.healthy
      ? `reachable (HTTP ${j.httpStatus})`
      : j.url
        ? "unreachable"
        : "unknown (no URL)";
  box.replaceChildren(
    el(
      "dl",
      {},
      el("dt", {}, "Cluster"),
      el("dd", {}, j.cluster || "unknown"),
      el("dt", {}, "URL"),
      el(
        "dd",
        { "data-field": "jenkins-url" },
        j.url ? el("a", { href: j.url, target: "_blank", rel: "noopener noreferrer" }, j.url) : "no URL",
      ),
      el("dt", {}, "Reachable"),
      el("dd", { "data-field": "jenkins-state", class: j.healthy ? "good" : "fail" }, reach),
      el("dt", {}, "Login"),
      el(
        "dd",
        { "data-field": "jenkins-password" },
        "admin; the password: ",
        el("code", {}, `pulumi stack output jenkinsAdminPassword --show-secrets --stack ${stack}`),
      ),
    ),
    el("div", { class: "problems-box", "data-field": "problems" }, "Problems: ", problemList(j.problems)),
  );
}

/** As `tartlab snapshot list` counts. */
function ageText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function renderSnapshots(s) {
  const body = $("#snapshots tbody");
  const wide = (cls, ...content) => el("tr", {}, el("td", { colspan: "6", class: cls }, ...content));
  if (!s.snapshots) {
    body.replaceChildren(wide("fail", s.snapshotsProblem || "snapshots not read"));
    return;
  }
  if (s.snapshots.length === 0) {
    body.replaceChildren(
      wide(
        "none",
        "no snapshots; save one: ",
        el("code", {}, `tartlab snapshot save <name> --stack ${s.stack}`),
      ),
    );
    return;
  }
  const read = Date.parse(s.checkedAt);
  body.replaceChildren(
    ...s.snapshots.map((r) =>
      el(
        "tr",
        { "data-snapshot": r.name },
        el("td", { "data-col": "name" }, r.name),
        el("td", { "data-col": "age" }, r.createdAt ? ageText(read - Date.parse(r.createdAt)) : "unknown"),
        el("td", { "data-col": "vms" }, `${r.vms} VM${r.vms === 1 ? "" : "s"}`),
        el("td", { "data-col": "size" }, typeof r.sizeGb === "number" ? `${r.sizeGb} GB` : "unknown"),
        el(
          "td",
          { "data-col": "restore" },
          el("code", {}, `tartlab snapshot restore ${r.name} --stack ${s.stack}`),
        ),
        el("td", { "data-col": "problems" }, problemList(r.problems)),
      ),
    ),
  );
}

/** The section shows only with a mesh. */
function renderMesh(s) {
  const section = $("#mesh-section");
  section.hidden = !s.mesh;
  if (!s.mesh) return;
  const stateClass = (state) => (state === "connected" ? "good" : "fail");
  $("#mesh tbody").replaceChildren(
    ...s.mesh.pairs.map((p) =>
      el(
        "tr",
        { "data-pair": p.clusters.join(" ") },
        el("td", { "data-col": "clusters" }, `${p.clusters[0]} <-> ${p.clusters[1]}`),
        el("td", { "data-col": "state", class: stateClass(p.state) }, p.state),
        el(
          "td",
          { "data-col": "links" },
          el(
            "ul",
            { class: "links" },
            ...p.links.map((l) =>
              el(
                "li",
                { class: stateClass(l.state) },
                `${l.from} -> ${l.to}: ${l.state}${l.detail ? ` (${l.detail})` : ""}`,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

let checkedAt;

function tick() {
  if (!checkedAt) return;
  const ago = Math.max(0, Math.round((Date.now() - checkedAt.getTime()) / 1000));
  $("#checked-at").textContent = `read at ${checkedAt.toLocaleTimeString()} (${ago} s ago)`;
  $("#checked-at").setAttribute("data-checked-at", checkedAt.toISOString());
}

function render(s) {
  $("#stack").textContent = `stack ${s.stack}`;
  renderBanner(s);
  $("#clusters").replaceChildren(...s.clusters.map((c) => renderCluster(c, s.vms)));
  $("#vms tbody").replaceChildren(...s.vms.map((v) => renderVm(v, s.stack)));
  renderMesh(s);
  renderJenkins(s.jenkins, s.stack);
  renderSnapshots(s);
  checkedAt = new Date(s.checkedAt);
  tick();
  document.body.setAttribute(
    "data-updates",
    String(Number(document.body.getAttribute("data-updates") || 0) + 1),
  );
}

function connect() {
  const conn = $("#connection");
  const events = new EventSource("/events");
  events.addEventListener("open", () => {
    conn.className = "conn live";
    conn.textContent = "live";
  });
  events.addEventListener("status", (e) => {
    conn.className = "conn live";
    conn.textContent = "live";
    render(JSON.parse(e.data));
  });
  events.addEventListener("failure", (e) => {
    conn.className = "conn lost";
    conn.textContent = `reading the lab failed: ${JSON.parse(e.data)}; retrying`;
  });
  // EventSource reconnects by itself (retry: 2000), and meanwhile the data shown may be old.
  events.addEventListener("error", () => {
    conn.className = "conn lost";
    conn.textContent = "dashboard server unreachable, retrying";
  });
}

window.setInterval(tick, 1000);
connect();
