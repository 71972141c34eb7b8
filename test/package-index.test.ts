import assert from "node:assert/strict";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  PackageIndexError,
  checkKubernetesPackages,
  compareDebianVersions,
  missingPackages,
  packagesUrl,
  parseControl,
  parseDepends,
  parsePackagesIndex,
} from "../lib/package-index";
import { fetchText } from "../mac/package-fetch";

/**
 * One stanza in the field layout of pkgs.k8s.io's (Open Build Service) Debian index, as apt reads it: the fields
 * of a `dpkg-scanpackages`-style Packages file, a multi-line Description with " ." paragraph breaks.
 */
function stanza(name: string, version: string, arch: string, depends?: string): string {
  const lines = [
    `Package: ${name}`,
    `Architecture: ${arch}`,
    `Version: ${version}`,
    "Priority: optional",
    "Section: admin",
    "Maintainer: Kubernetes Authors <dev@kubernetes.io>",
    "Installed-Size: 71234",
    ...(depends ? [`Depends: ${depends}`] : []),
    `Filename: ${arch}/${name}_${version}_${arch}.deb`,
    "Size: 12345678",
    "MD5sum: 0123456789abcdef0123456789abcdef",
    "SHA1: 0123456789abcdef0123456789abcdef01234567",
    "SHA256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    `Description: ${name} for Kubernetes`,
    ` The ${name} package.`,
    " .",
    " Built by the Kubernetes release team.",
  ];
  return lines.join("\n") + "\n";
}

/** A complete minor: every node package for amd64 and arm64, kubeadm/kubelet with their real-shaped Depends. */
function fullIndex(minor: string, opts: { without?: string[]; kubeadmDepends?: string } = {}): string {
  const out: string[] = [];
  for (const arch of ["amd64", "arm64"]) {
    for (const patch of ["0", "1"]) {
      const v = `${minor}.${patch}-1.1`;
      out.push(stanza("kubeadm", v, arch, opts.kubeadmDepends));
      out.push(
        stanza(
          "kubelet",
          v,
          arch,
          "iptables (>= 1.4.21), kubernetes-cni (>= 1.2.0), iproute2, socat, util-linux, mount, ebtables, ethtool, conntrack",
        ),
      );
      out.push(stanza("kubectl", v, arch));
    }
    out.push(stanza("cri-tools", `${minor}.0-1.1`, arch));
    out.push(stanza("kubernetes-cni", "1.7.1-1.1", arch));
  }
  return out.filter((s) => !(opts.without ?? []).some((w) => s.startsWith(`Package: ${w}\n`))).join("\n");
}

describe("Debian control format", () => {
  test("paragraphs, continuation lines, dependency groups", () => {
    const s = parseControl(
      stanza("kubelet", "1.35.0-1.1", "arm64", "kubernetes-cni (>= 1.2.0), a | b:any (<< 2)"),
    );
    assert.equal(s.length, 1);
    assert.equal(s[0].get("Version"), "1.35.0-1.1");
    assert.equal(
      s[0].get("Description"),
      "kubelet for Kubernetes\nThe kubelet package.\n.\nBuilt by the Kubernetes release team.",
    );
    assert.deepEqual(parseDepends(s[0].get("Depends")!), [
      [{ name: "kubernetes-cni", op: ">=", version: "1.2.0" }],
      [{ name: "a" }, { name: "b", op: "<<", version: "2" }],
    ]);
    assert.equal(parsePackagesIndex(fullIndex("1.35")).length, 16);
  });

  const malformed: [string, string, RegExp][] = [
    [
      "continuation before any field",
      " leading\nPackage: x\n",
      /line 1: continuation line with no field before it/,
    ],
    ["line without a colon", "Package: x\nVersion 1.0\n", /line 2: expected "Field: value"/],
    ["field twice", "Package: x\nPackage: y\n", /line 2: field Package appears twice/],
    ["no Version", "Package: x\nArchitecture: arm64\n", /paragraph 1 \(x\) has no Version field/],
    ["no Package", "Version: 1\nArchitecture: arm64\n", /paragraph 1 \(no Package\) has no Package field/],
    [
      "bad Depends",
      "Package: x\nVersion: 1\nArchitecture: arm64\nDepends: cri-tools (>= )\n",
      /malformed dependency "cri-tools \(>= \)"/,
    ],
    ["HTML instead of an index", "<html><body>Not Found</body></html>\n", /line 1: expected "Field: value"/],
  ];
  for (const [title, text, error] of malformed) {
    test(`refuses malformed input: ${title}`, () => {
      assert.throws(
        () => parsePackagesIndex(text),
        (e: unknown) => e instanceof PackageIndexError && error.test(e.message),
      );
    });
  }

  test("empty text and CRLF line ends", () => {
    assert.deepEqual(parsePackagesIndex(""), []);
    assert.equal(parsePackagesIndex(fullIndex("1.35").replace(/\n/g, "\r\n")).length, 16);
  });

  const order: [string, string, number][] = [
    ["1.35.0-1.1", "1.35.0-1.1", 0],
    ["1.35.2-1.1", "1.35.10-1.1", -1],
    ["1.35.0-1.1", "1.35.0-2.1", -1],
    ["1.0~rc1-1", "1.0-1", -1],
    ["1:0.1", "2.0", 1],
    ["1.30.0", "1.30.0-1.1", -1],
    ["1.2.0a", "1.2.0", 1],
    ["1.2.01", "1.2.1", 0],
  ];
  for (const [a, b, sign] of order) {
    test(`dpkg version order: ${a} vs ${b}`, () => {
      assert.equal(Math.sign(compareDebianVersions(a, b)), sign);
      assert.equal(Math.sign(compareDebianVersions(b, a)), sign === 0 ? 0 : -sign);
    });
  }
});

describe("what the nodes need from the index", () => {
  const check = (text: string, version = "1.35") =>
    missingPackages(parsePackagesIndex(text), "arm64", version);

  test("a complete minor passes, bare minor and pinned patch", () => {
    assert.deepEqual(check(fullIndex("1.35")), []);
    assert.deepEqual(check(fullIndex("1.35"), "1.35.1"), []);
  });

  test("1.36 as first published (#138534): cri-tools and kubernetes-cni missing, kubeadm still depends on cri-tools", () => {
    const text = fullIndex("1.36", {
      without: ["cri-tools", "kubernetes-cni"],
      kubeadmDepends: "cri-tools (>= 1.30.0)",
    });
    assert.deepEqual(check(text, "1.36"), [
      "cri-tools: no arm64 package in the index",
      "kubernetes-cni: no arm64 package in the index",
      "kubelet 1.36.1-1.1 depends on kubernetes-cni (>= 1.2.0), which the index does not have for arm64",
      "kubeadm 1.36.1-1.1 depends on cri-tools (>= 1.30.0), which the index does not have for arm64",
    ]);
  });

  test("a dependency present only in too old a version is missing", () => {
    const text = fullIndex("1.35", { kubeadmDepends: "cri-tools (>= 1.36.0)" });
    assert.deepEqual(check(text), [
      "kubeadm 1.35.1-1.1 depends on cri-tools (>= 1.36.0), which the index does not have for arm64",
    ]);
  });

  test("present for amd64 only is missing for arm64", () => {
    const text = fullIndex("1.37").replace(
      /Package: kubernetes-cni\nArchitecture: arm64\n/,
      "Package: kubernetes-cni\nArchitecture: s390x\n",
    );
    assert.deepEqual(check(text, "1.37"), [
      "kubernetes-cni: no arm64 package in the index",
      "kubelet 1.37.1-1.1 depends on kubernetes-cni (>= 1.2.0), which the index does not have for arm64",
    ]);
  });

  test("a pinned patch the index does not have", () => {
    assert.deepEqual(check(fullIndex("1.35"), "1.35.7"), [
      "kubelet 1.35.7: no arm64 package of that patch (the index has 1.35.0-1.1, 1.35.1-1.1)",
      "kubeadm 1.35.7: no arm64 package of that patch (the index has 1.35.0-1.1, 1.35.1-1.1)",
      "kubectl 1.35.7: no arm64 package of that patch (the index has 1.35.0-1.1, 1.35.1-1.1)",
    ]);
  });
});

describe("reading pkgs.k8s.io (a local server in its layout)", () => {
  const served = new Map<string, string>();
  let server: Server;
  let base: string;
  const requests: string[] = [];
  before(async () => {
    served.set("/core:/stable:/v1.37/deb/Packages", fullIndex("1.37", { without: ["kubernetes-cni"] }));
    served.set(
      "/core:/stable:/v1.36/deb/Packages",
      fullIndex("1.36", { without: ["cri-tools", "kubernetes-cni"] }),
    );
    served.set("/core:/stable:/v1.35/deb/Packages", fullIndex("1.35"));
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      if (req.url === "/redirect/core:/stable:/v1.35/deb/Packages") {
        // pkgs.k8s.io answers with a redirect to the CDN.
        res.writeHead(302, { location: "/core:/stable:/v1.35/deb/Packages" }).end();
        return;
      }
      if (req.url?.startsWith("/hang/")) return; // never answers
      if (req.url?.startsWith("/broken/")) return void res.writeHead(503).end("upstream down");
      const body = served.get(req.url ?? "");
      if (body === undefined) return void res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/core:/stable:/`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const read =
    (prefix = "") =>
    (minor: string) =>
      fetchText(packagesUrl(minor, base.replace("/core:", `${prefix}/core:`)), 2000);

  test("the real URL layout", () => {
    assert.equal(packagesUrl("1.35"), "https://pkgs.k8s.io/core:/stable:/v1.35/deb/Packages");
  });

  test("complete minor, through a redirect: no problem", async () => {
    assert.deepEqual(await checkKubernetesPackages("1.35.1", "arm64", read("/redirect")), { problems: [] });
  });

  test("incomplete minor: names what is missing, the upstream pattern and the newest complete minor", async () => {
    const r = await checkKubernetesPackages("1.37", "arm64", read());
    assert.equal(r.problems.length, 1);
    const p = r.problems[0];
    assert.match(p, /pkgs\.k8s\.io repository of Kubernetes 1\.37 lacks what every node installs \(arm64\)/);
    assert.match(p, /kubernetes-cni: no arm64 package in the index/);
    assert.match(p, /kubernetes\/kubernetes #133735, #135803, #138534, #141601/);
    assert.match(p, /Set tartlab:kubernetesVersion to 1\.35 \(its index is complete for arm64\)/);
    assert.ok(
      requests.includes("/core:/stable:/v1.36/deb/Packages"),
      "looked at 1.36 first (incomplete too)",
    );
  });

  test("no complete older minor found: says the previous minor", async () => {
    served.set("/core:/stable:/v1.34/deb/Packages", fullIndex("1.34", { without: ["cri-tools"] }));
    const r = await checkKubernetesPackages("1.36", "arm64", (m) =>
      m === "1.35" ? Promise.reject(new Error("down")) : read()(m),
    );
    assert.match(r.problems[0], /Set tartlab:kubernetesVersion to the previous minor \(1\.35\)/);
  });

  test("a minor with no repository (404) is a problem", async () => {
    const r = await checkKubernetesPackages("1.38", "arm64", read());
    assert.deepEqual(r.unreachable, undefined);
    assert.match(
      r.problems[0],
      /pkgs\.k8s\.io has no repository for Kubernetes 1\.38: .*v1\.38\/deb\/Packages does not exist \(HTTP 404\)/,
    );
  });

  test("server error and no answer in time: unreachable, not a verdict", async () => {
    const broken = await checkKubernetesPackages("1.35", "arm64", read("/broken"));
    assert.deepEqual(broken.problems, []);
    assert.match(
      broken.unreachable!,
      /could not read http:\/\/127\.0\.0\.1:\d+\/broken\/core:\/stable:\/v1\.35\/deb\/Packages: HTTP 503/,
    );
    const t0 = Date.now();
    const hung = await checkKubernetesPackages("1.35", "arm64", read("/hang"));
    assert.match(hung.unreachable!, /no answer within 2s/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test("a malformed index is reported, not trusted", async () => {
    const r = await checkKubernetesPackages("1.35", "arm64", () => Promise.resolve("<html>oops</html>"));
    assert.match(
      r.unreachable!,
      /the pkgs\.k8s\.io index of 1\.35 is malformed \(line 1: expected "Field: value"/,
    );
  });
});
