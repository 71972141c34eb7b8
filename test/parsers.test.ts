/**
 * Malformed-input tables for every parser in lib/ that reads text another program printed: empty,
 * truncated, extra lines, wrong types, CRLF, trailing whitespace, and valid-looking but wrong values, each with the
 * exact error or result. lib/package-index.ts has its own table in test/package-index.test.ts; mac/status.ts's
 * and mac/revive.ts's JSON readers are run against a fake tart printing malformed output in test/status.test.ts
 * and test/revive.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseHostFacts } from "../lib/host";
import { parseJoinToken, parseKubeadmVersion } from "../lib/kubeadm";
import { parse } from "yaml";
import { rewriteKubeconfig } from "../lib/kubeconfig";
import { mergeKubeconfig, removeFromKubeconfig } from "../mac/kubeconfig-merge";

/** The value, or `Error: <first line of the message>`. */
function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    return `Error: ${(e as Error).message.split("\n")[0]}`;
  }
}

const TOKEN = "abcdef.0123456789abcdef";
const HASH = `sha256:${"0a".repeat(32)}`;
const GOOD_TOKEN = { token: TOKEN, caCertHash: HASH };
const NO_TOKEN = "Error: join-token.sh printed no token/caCertHash lines";

describe("parseJoinToken (scripts/kubeadm-cluster/join-token.sh output)", () => {
  const rows: [string, string, unknown][] = [
    ["as printed", `token ${TOKEN}\ncaCertHash ${HASH}\n`, GOOD_TOKEN],
    ["empty", "", NO_TOKEN],
    ["CRLF line ends", `token ${TOKEN}\r\ncaCertHash ${HASH}\r\n`, GOOD_TOKEN],
    ["no final newline", `token ${TOKEN}\ncaCertHash ${HASH}`, GOOD_TOKEN],
    [
      "kubeadm warnings and other lines around them",
      `W1125 warn\ntoken ${TOKEN}\nnoise\ncaCertHash ${HASH}\n`,
      GOOD_TOKEN,
    ],
    ["lines in the other order", `caCertHash ${HASH}\ntoken ${TOKEN}\n`, GOOD_TOKEN],
    [
      "two token lines: the first",
      `token ${TOKEN}\ntoken zzzzzz.0123456789abcdef\ncaCertHash ${HASH}\n`,
      GOOD_TOKEN,
    ],
    ["truncated after the token", `token ${TOKEN}\n`, NO_TOKEN],
    ["hash one digit short", `token ${TOKEN}\ncaCertHash ${HASH.slice(0, -1)}\n`, NO_TOKEN],
    ["hash one digit long", `token ${TOKEN}\ncaCertHash ${HASH}0\n`, NO_TOKEN],
    ["trailing whitespace on a line", `token ${TOKEN} \ncaCertHash ${HASH}\n`, NO_TOKEN],
    ["leading whitespace on a line", ` token ${TOKEN}\ncaCertHash ${HASH}\n`, NO_TOKEN],
    [
      "token in upper case (kubeadm tokens are [a-z0-9])",
      `token ${TOKEN.toUpperCase()}\ncaCertHash ${HASH}\n`,
      NO_TOKEN,
    ],
    ["token without its dot", `token ${TOKEN.replace(".", "")}\ncaCertHash ${HASH}\n`, NO_TOKEN],
    [
      "an sha1 hash (kubeadm pins sha256 only)",
      `token ${TOKEN}\ncaCertHash sha1:${"a".repeat(40)}\n`,
      NO_TOKEN,
    ],
    ["hash in upper-case hex", `token ${TOKEN}\ncaCertHash ${HASH.toUpperCase()}\n`, NO_TOKEN],
    [
      "a `kubeadm join` command line instead",
      `kubeadm join 10.0.0.1:6443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH}\n`,
      NO_TOKEN,
    ],
  ];
  for (const [what, input, expected] of rows) {
    test(what, () =>
      assert.deepEqual(
        outcome(() => parseJoinToken(input)),
        expected,
      ),
    );
  }
});

describe("parseKubeadmVersion (scripts/k8s-node/verify.sh output)", () => {
  const refused = (got: string) =>
    `Error: expected an exact kubeadm version like v1.35.2 from the node's readiness step, got ${JSON.stringify(got)}`;
  const rows: [string, string, unknown][] = [
    ["as printed", "v1.35.2\n", "v1.35.2"],
    ["CRLF", "v1.35.2\r\n", "v1.35.2"],
    ["surrounding whitespace", "  v1.35.2 \t\n", "v1.35.2"],
    ["empty", "", refused("")],
    ["whitespace only", " \n", refused("")],
    ["no leading v", "1.35.2", refused("1.35.2")],
    ["a bare minor (truncated)", "v1.35", refused("v1.35")],
    ["a pre-release", "v1.35.2-rc.0", refused("v1.35.2-rc.0")],
    ["two lines", "v1.35.2\nv1.35.3\n", refused("v1.35.2\nv1.35.3")],
    ["kubeadm's long output", "kubeadm version: v1.35.2", refused("kubeadm version: v1.35.2")],
    ["a wildcard (the pattern verify.sh matches)", "v1.35.*", refused("v1.35.*")],
  ];
  for (const [what, input, expected] of rows) {
    test(what, () =>
      assert.deepEqual(
        outcome(() => parseKubeadmVersion(input)),
        expected,
      ),
    );
  }
});

/** An admin.conf as kubeadm writes it (facts/kubernetes.md A.5), with short fake data. */
const ADMIN = [
  "apiVersion: v1",
  "clusters:",
  "- cluster:",
  "    certificate-authority-data: Q0E=",
  "    server: https://10.0.0.1:6443",
  "  name: kubernetes",
  "contexts:",
  "- context:",
  "    cluster: kubernetes",
  "    user: kubernetes-admin",
  "  name: kubernetes-admin@kubernetes",
  "current-context: kubernetes-admin@kubernetes",
  "kind: Config",
  "users:",
  "- name: kubernetes-admin",
  "  user:",
  "    client-certificate-data: Q0VSVA==",
  "    client-key-data: S0VZ",
  "",
].join("\n");
/** The cluster CA a kubeconfig carries (the rewrite must keep admin.conf's). */
const caOf = (kubeconfig: string) =>
  parse(kubeconfig)?.clusters?.[0]?.cluster?.["certificate-authority-data"];

describe("rewriteKubeconfig (admin.conf from scripts/kubeadm-cluster/kubeconfig.sh)", () => {
  const NOT_ADMIN = "Error: admin.conf is not a kubeadm kubeconfig with one cluster and one user";
  const rewritten = (text: string) => {
    const out = rewriteKubeconfig(text, "dev", "https://192.168.64.5:6443");
    return caOf(out) === "Q0E=" && out.includes("server: https://192.168.64.5:6443") ? "rewritten" : out;
  };
  const rows: [string, string, unknown][] = [
    ["as kubeadm writes it", ADMIN, "rewritten"],
    ["CRLF line ends", ADMIN.replace(/\n/g, "\r\n"), "rewritten"],
    ["trailing whitespace on every line", ADMIN.replace(/\n/g, "  \n"), "rewritten"],
    ["empty", "", NOT_ADMIN],
    ["truncated inside the clusters list", ADMIN.slice(0, ADMIN.indexOf("contexts:")), NOT_ADMIN],
    ["a YAML list", "- a\n", NOT_ADMIN],
    ["a scalar", "Error from server", NOT_ADMIN],
    ["clusters is a string", "clusters: abc\nusers: []\n", NOT_ADMIN],
    [
      "two clusters",
      ADMIN.replace("clusters:\n", "clusters:\n- cluster: {server: x}\n  name: other\n"),
      NOT_ADMIN,
    ],
    [
      "users a mapping",
      ADMIN.replace("users:\n- name: kubernetes-admin\n  user:", "users:\n  admin:"),
      NOT_ADMIN,
    ],
    [
      "not YAML at all: the parser's own error",
      "clusters: [\n",
      "Error: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1:",
    ],
  ];
  for (const [what, input, expected] of rows) {
    test(what, () =>
      assert.deepEqual(
        outcome(() => rewritten(input)),
        expected,
      ),
    );
  }
});

describe("mergeKubeconfig / removeFromKubeconfig: the user's existing kubeconfig", () => {
  const lab = rewriteKubeconfig(ADMIN, "dev", "https://192.168.64.5:6443");
  const merged = (existing: string) => {
    const out = mergeKubeconfig(existing, lab, "dev");
    return /name: tartlab-dev/.test(out) ? "merged" : out;
  };
  const rows: [string, string, unknown, unknown][] = [
    ["empty (no kubeconfig yet)", "", "merged", "{}\n"],
    ["whitespace only", "  \n", "merged", "{}\n"],
    ["CRLF line ends", "apiVersion: v1\r\nclusters: []\r\n", "merged", "apiVersion: v1\nclusters: []\n"],
    [
      "lists present but empty (null)",
      "clusters:\nusers:\ncontexts:\n",
      "merged",
      "clusters: null\nusers: null\ncontexts: null\n",
    ],
    [
      "not YAML",
      "clusters: [\n",
      "Error: the existing kubeconfig is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1:",
      "Error: the existing kubeconfig is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1:",
    ],
    [
      "a YAML list",
      "- a\n",
      "Error: the existing kubeconfig is not a kubeconfig mapping",
      "Error: the existing kubeconfig is not a kubeconfig mapping",
    ],
    [
      "a scalar",
      "hello",
      "Error: the existing kubeconfig is not a kubeconfig mapping",
      "Error: the existing kubeconfig is not a kubeconfig mapping",
    ],
    [
      "clusters is a string",
      "clusters: abc\n",
      'Error: the existing kubeconfig: "clusters" must be a list',
      'Error: the existing kubeconfig: "clusters" must be a list',
    ],
  ];
  for (const [what, input, merge, remove] of rows) {
    test(what, () => {
      assert.deepEqual(
        outcome(() => merged(input)),
        merge,
        "merge",
      );
      assert.deepEqual(
        outcome(() => removeFromKubeconfig(input, "dev")),
        remove,
        "remove",
      );
    });
  }

  test("a lab kubeconfig that is not tartlab's (wrong or no entry) is refused", () => {
    for (const other of ["clusters: []\n", rewriteKubeconfig(ADMIN, "other", "https://x:6443")]) {
      assert.deepEqual(
        outcome(() => mergeKubeconfig("", other, "dev")),
        `Error: the cluster's kubeconfig has no cluster named "tartlab-dev" (is it tartlab's?)`,
      );
    }
  });
});

describe("parseHostFacts (scripts/host/facts.sh output)", () => {
  const FACTS = [
    "os=Darwin",
    "arch=arm64",
    "macosVersion=15.5",
    "tart=/opt/homebrew/bin/tart",
    "tartVersion=2.32.1",
    "softnet=/opt/homebrew/bin/softnet",
    "softnetSuid=yes",
    "softnetRootOwned=yes",
    "passwordlessSudo=no",
    "memoryBytes=68719476736",
    "cpus=12",
    "freeDiskBytes=409600000000",
    "",
  ].join("\n");
  const GOOD = {
    os: "Darwin",
    arch: "arm64",
    macosVersion: "15.5",
    tart: "/opt/homebrew/bin/tart",
    tartVersion: "2.32.1",
    softnet: "/opt/homebrew/bin/softnet",
    softnetSuid: true,
    softnetRootOwned: true,
    passwordlessSudo: false,
    memoryBytes: 68719476736,
    cpus: 12,
    freeDiskBytes: 409600000000,
  };
  const NOTHING = {
    os: "",
    arch: "",
    macosVersion: "",
    tart: "",
    tartVersion: "",
    softnet: "",
    softnetSuid: false,
    softnetRootOwned: false,
    passwordlessSudo: false,
    memoryBytes: NaN,
    cpus: NaN,
    freeDiskBytes: NaN,
  };
  // Numbers that cannot be read are NaN; checkHost skips a NaN fact (test/host.test.ts), so only a present,
  // wrong number (0, a truncated 68) produces a problem. Booleans are "yes" exactly, anything else false.
  const rows: [string, string, unknown][] = [
    ["as printed", FACTS, GOOD],
    ["CRLF line ends", FACTS.replace(/\n/g, "\r\n"), GOOD],
    ["trailing whitespace", FACTS.replace(/\n/g, "  \n"), GOOD],
    ["empty", "", NOTHING],
    [
      "truncated inside memoryBytes",
      FACTS.slice(0, FACTS.indexOf("memoryBytes=") + 14),
      { ...GOOD, memoryBytes: 68, cpus: NaN, freeDiskBytes: NaN },
    ],
    [
      "memoryBytes empty (sysctl printed nothing)",
      FACTS.replace("memoryBytes=68719476736", "memoryBytes="),
      { ...GOOD, memoryBytes: 0 },
    ],
    ["cpus not a number", FACTS.replace("cpus=12", "cpus=twelve"), { ...GOOD, cpus: NaN }],
    [
      "softnetSuid=YES is not yes",
      FACTS.replace("softnetSuid=yes", "softnetSuid=YES"),
      { ...GOOD, softnetSuid: false },
    ],
    ["a key twice: the last wins", `${FACTS}cpus=1\n`, { ...GOOD, cpus: 1 }],
    ["lines without a key or =", `garbage\n=x\n${FACTS}`, GOOD],
    ["a value holding =", "tartVersion=tart a=b\n", { ...NOTHING, tartVersion: "tart a=b" }],
    ["a key with a leading space is another key", " os=Darwin\n", NOTHING],
  ];
  for (const [what, input, expected] of rows) {
    test(what, () => assert.deepEqual(parseHostFacts(input), expected));
  }
});
