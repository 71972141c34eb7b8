import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { loadScript, shellQuote } from "../../lib/shell";
import { FakeNode, fakeNode } from "../harness/node";
import { FAKES_DIR, Sandbox, ShellRun, sandbox } from "../harness/shell";

let sb: Sandbox;
let node: FakeNode;

const GOLDEN = "tartlab-golden-1-35-2-0123456789abcdef";
const IMAGES = [
  "quay.io/cilium/cilium:v1.19.8",
  "quay.io/cilium/cilium-envoy:v1.37.6-1789133542-cbec91f666af0bf742da986d43832932dbb26b82",
  "docker.io/jenkins/jenkins:2.568.2-jdk21",
];
const env = () => ({
  GOLDEN_NAME: GOLDEN,
  BASE_IMAGE: "ghcr.io/cirruslabs/ubuntu:24.04",
  K8S_MINOR: "1.35",
  K8S_PATCH: "1.35.2",
  IMAGES: IMAGES.join("\n"),
  PREPARE_SH: loadScript("k8s-node/prepare.sh"),
  PULL_SH: loadScript("golden-image/pull.sh"),
  CLEAN_SH: loadScript("golden-image/clean.sh"),
  PULL_ATTEMPTS: "2",
  RETRY_PAUSE_SECONDS: "0.01",
  BOOT_WAIT_SECONDS: "60",
  BOOT_POLL_SECONDS: "0.05",
  POWEROFF_WAIT_SECONDS: "60",
  POWEROFF_POLL_SECONDS: "0.05",
  TARTLAB_HOME: path.join(sb.dir, "tartlab-home"),
});
const bake = (knobs: Record<string, string> = {}, extra: Record<string, string> = {}) =>
  sb.run({
    script: "golden-image/bake.sh",
    env: { ...env(), ...extra },
    // The fake guest powers off as soon as it is asked (its default pause is a second).
    processEnv: { FAKE_TART_POWEROFF_DELAY: "0", ...knobs },
    timeoutMs: 90_000,
  });
const tartHome = () => path.join(sb.dir, "tart");
const vms = () => (existsSync(tartHome()) ? readdirSync(tartHome()).sort() : []);
const vmFile = (vm: string, f: string) => readFileSync(path.join(tartHome(), vm, f), "utf8").trim();
const pulled = () => {
  const f = path.join(node.root, "var/lib/containerd/fake-images");
  return existsSync(f) ? readFileSync(f, "utf8").trim().split("\n") : [];
};

/**
 * `tart` as the test test/fakes/tart, plus what a bake needs from it: `tart exec -i <vm> sudo bash -s` runs its
 * stdin as root on the fake node (the guest of that VM), `tart exec <vm> true` answers once it runs, and
 * `tart rename` (facts/tart.md: fails if the target exists). The guest's poweroff saves systemd's random seed
 * (systemd-random-seed.service's ExecStop) unless a drop-in under /run empties that ExecStop; /run is then gone.
 * FAKE_GUEST_HOLD=<file>: a guest step waits until the test creates <file> (it creates <file>.waiting first).
 */
function installTart() {
  const guestEnv = Object.entries({ ...node.processEnv })
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(" ");
  const root = node.root;
  sb.fake(
    "tart",
    `
_running() { [ "$(cat "$FAKE_TART_HOME/$1/state" 2>/dev/null)" = running ]; }
if [ "$1" = exec ] && [ "$2" = -i ]; then
  vm=$3; shift 3
  _running "$vm" || { echo "VM \\"$vm\\" is not running" >&2; exit 2; }
  [ "$*" = "sudo bash -s" ] || { echo "fake guest: unexpected command: $*" >&2; exit 64; }
  if [ -n "\${FAKE_GUEST_HOLD:-}" ]; then
    : >"$FAKE_GUEST_HOLD.waiting"
    while [ ! -e "$FAKE_GUEST_HOLD" ]; do sleep 0.05; done
  fi
  exec env ${guestEnv} FAKE_CALLS="$FAKE_CALLS" bash -s
fi
if [ "$1" = exec ] && [ "\${*: -1}" = poweroff ]; then
  dropins=${JSON.stringify(path.join(root, "run/systemd/system/systemd-random-seed.service.d"))}
  if ! cat "$dropins"/*.conf 2>/dev/null | grep -qx 'ExecStop='; then
    mkdir -p ${JSON.stringify(path.join(root, "var/lib/systemd"))}
    echo "seed saved at the bake's shutdown" >${JSON.stringify(path.join(root, "var/lib/systemd/random-seed"))}
  fi
  rm -rf ${JSON.stringify(path.join(root, "run/systemd/system"))}
fi
if [ "$1" = exec ] && [ "$3" = true ]; then
  [ "\${FAKE_GUEST_NO_AGENT:-}" != 1 ] || { echo "Error: is the Tart Guest Agent running?" >&2; exit 1; }
  _running "$2" || exit 2; exit 0
fi
if [ "$1" = rename ]; then
  [ -d "$FAKE_TART_HOME/$2" ] || { echo "the specified VM \\"$2\\" does not exist" >&2; exit 2; }
  [ ! -e "$FAKE_TART_HOME/$3" ] || { echo "VM \\"$3\\" already exists" >&2; exit 1; }
  ! _running "$2" || { echo "VM \\"$2\\" is running" >&2; exit 1; }
  mv "$FAKE_TART_HOME/$2" "$FAKE_TART_HOME/$3"; exit 0
fi
exec bash ${JSON.stringify(path.join(FAKES_DIR, "tart"))} "$@"
`,
  );
}

beforeEach(() => {
  sb = sandbox();
  node = fakeNode(sb);
  // Identity of the machine the image was baked on: what clean.sh must remove.
  mkdirSync(path.join(node.root, "etc/ssh"), { recursive: true });
  for (const k of ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "ssh_host_rsa_key"]) {
    writeFileSync(path.join(node.root, "etc/ssh", k), "key\n");
  }
  writeFileSync(path.join(node.root, "etc/ssh/sshd_config"), "PasswordAuthentication yes\n");
  writeFileSync(path.join(node.root, "var/lib/dbus/machine-id"), "image-machine-id\n");
  writeFileSync(path.join(node.root, "var/log/syslog"), "bake history\n");
  writeFileSync(path.join(node.root, "var/log/syslog.1"), "older history\n");
  mkdirSync(path.join(node.root, "var/lib/systemd"), { recursive: true });
  writeFileSync(path.join(node.root, "var/lib/systemd/random-seed"), "the image's seed\n");
  installTart();
});
afterEach(() => sb.dispose());

describe("golden-image/bake.sh", () => {
  test("bakes a stopped golden VM: held packages, containerd configured, images pulled, identity removed", async () => {
    const r = await bake();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), GOLDEN);
    assert.deepEqual(vms(), [GOLDEN], "only the golden image, no temporary VM");
    assert.equal(vmFile(GOLDEN, "state"), "stopped");
    assert.equal(vmFile(GOLDEN, "stopped_by"), "guest", "powered off from inside, not a hard stop");
    // The package part of the node preparation.
    assert.match(node.installed("kubeadm") ?? "", /^1\.35\.2-/);
    assert.deepEqual(node.held(), ["cri-tools", "kubeadm", "kubectl", "kubelet"]);
    assert.match(node.file("etc/containerd/config.toml"), /SystemdCgroup = true/);
    assert.match(node.file("etc/sysctl.d/99-tartlab-k8s.conf"), /net\.ipv4\.ip_forward = 1/);
    // Every image: kubeadm's list for the exact version, then the charts' pins.
    const images = pulled();
    for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
      assert.ok(images.includes(`registry.k8s.io/${c}:v1.35.2`), c);
    }
    assert.ok(images.some((i) => i.startsWith("registry.k8s.io/pause:")));
    for (const i of IMAGES) assert.ok(images.includes(i), i);
    // No per-machine identity left.
    assert.equal(node.file("etc/machine-id"), "");
    assert.ok(!existsSync(path.join(node.root, "var/lib/dbus/machine-id")));
    assert.deepEqual(readdirSync(path.join(node.root, "etc/ssh")), ["sshd_config"]);
    assert.match(
      node.file("etc/systemd/system/tartlab-ssh-hostkeys.service"),
      /ExecStart=\/usr\/bin\/ssh-keygen -A/,
    );
    assert.ok(
      lstatSync(
        path.join(node.root, "etc/systemd/system/ssh.service.wants/tartlab-ssh-hostkeys.service"),
      ).isSymbolicLink(),
    );
    assert.equal(node.file("var/log/syslog"), "");
    assert.ok(!existsSync(path.join(node.root, "var/log/syslog.1")));
  });

  test("an existing golden image is kept: a second run clones nothing", async () => {
    assert.equal((await bake()).code, 0);
    const before = sb.calls().length;
    const r = await bake();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), GOLDEN);
    assert.deepEqual(
      sb
        .calls()
        .slice(before)
        .filter((c) => /^tart (clone|run|exec|rename)/.test(c)),
      [],
    );
  });

  test("a failed image pull leaves no golden image and no temporary VM", async () => {
    const r = await bake({ FAKE_CRICTL_PULL_FAIL: "cilium-envoy" });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /gave up after 2 attempts: _pull quay\.io\/cilium\/cilium-envoy/);
    assert.match(r.stderr, /bake failed; deleting tartlab-golden-1-35-2-0123456789abcdef-baking/);
    assert.deepEqual(vms(), []);
  });

  test("a VM whose guest agent never answers is given up after the boot deadline, and deleted", async () => {
    const r = await bake({ FAKE_GUEST_NO_AGENT: "1" }, { BOOT_WAIT_SECONDS: "0" });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /did not answer tart exec within 0s after boot/);
    // A base image tag cached before its guest agent shipped: tart clone never refreshes it.
    assert.match(r.stderr, /tart pull ghcr\.io\/cirruslabs\/ubuntu:24\.04/);
    assert.deepEqual(vms(), []);
  });

  test("the golden image carries no random seed: removed, and not saved again at the bake's poweroff", async () => {
    const r = await bake();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      !existsSync(path.join(node.root, "var/lib/systemd/random-seed")),
      "every clone would start from the same seed",
    );
    assert.ok(!existsSync(path.join(node.root, "run/systemd/system")), "the runtime drop-in went with /run");
  });

  describe("two bakes of the same image", () => {
    /** Waits until `cond` holds, or `run` has ended (then `cond` is asserted). */
    const until = async (cond: () => boolean, run: Promise<unknown>) => {
      let ended = false;
      void run.finally(() => (ended = true));
      while (!cond() && !ended) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(cond(), "the first bake never reached its guest step");
    };

    test("a second bake while one runs: refused, the running bake's VM untouched; the first then finishes", async () => {
      const hold = path.join(sb.dir, "guest-hold");
      const first = bake({ FAKE_GUEST_HOLD: hold });
      let second: ShellRun | undefined;
      let firstVm = "absent";
      try {
        await until(() => existsSync(`${hold}.waiting`), first);
        second = await bake();
        const state = path.join(tartHome(), `${GOLDEN}-baking`, "state");
        if (existsSync(state)) firstVm = readFileSync(state, "utf8").trim();
      } finally {
        // Released and awaited whatever happened: a held bake must not outlive its sandbox.
        writeFileSync(hold, "");
      }
      const r = await first;
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        /golden image "tartlab-golden-1-35-2-0123456789abcdef" is being baked by another run \(pid \d+/,
      );
      assert.equal(firstVm, "running", "the first bake's VM is left alone while it runs");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(vms(), [GOLDEN]);
      const again = await bake();
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /exists; keeping it/);
    });

    test("a bake killed outright (no clean-up ran) does not block the next one", async () => {
      const hold = path.join(sb.dir, "guest-hold");
      const group = path.join(sb.dir, "first.pgid");
      const first = sb.run({
        script: "golden-image/bake.sh",
        env: env(),
        processEnv: { FAKE_GUEST_HOLD: hold },
        timeoutMs: 90_000,
        groupFile: group,
      });
      await until(() => existsSync(`${hold}.waiting`), first);
      process.kill(-Number(readFileSync(group, "utf8").trim()), "SIGKILL");
      await first;
      const r = await bake();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /taking over the bake lock of pid \d+, which is gone/);
      assert.equal(r.stdout.trim(), GOLDEN);
      assert.deepEqual(vms(), [GOLDEN], "the killed bake's VM deleted, the image baked");
    });
  });

  test("a guest that does not power off is not renamed into a golden image", async () => {
    const r = await bake({ FAKE_TART_GUEST_IGNORES_POWEROFF: "1" }, { POWEROFF_WAIT_SECONDS: "0" });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /still running 0s after its poweroff/);
    assert.deepEqual(vms(), []);
  });

  test("an input that would break out of the guest's quoting is refused before any VM exists", async () => {
    const r = await bake({}, { IMAGES: "docker.io/x:1'; rm -rf /; '" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /an input contains a single quote/);
    assert.deepEqual(vms(), []);
    assert.deepEqual(
      sb.calls().filter((c) => /^tart (clone|run)/.test(c)),
      [],
    );
  });

  test("a temporary VM left by an interrupted bake is replaced, not reused", async () => {
    mkdirSync(path.join(tartHome(), `${GOLDEN}-baking`), { recursive: true });
    for (const [f, v] of Object.entries({ state: "stopped", disk: "20", cpu: "4", memory: "4096" })) {
      writeFileSync(path.join(tartHome(), `${GOLDEN}-baking`, f), `${v}\n`);
    }
    writeFileSync(path.join(tartHome(), `${GOLDEN}-baking`, "half-made"), "");
    const r = await bake();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(vms(), [GOLDEN]);
    assert.ok(!existsSync(path.join(tartHome(), GOLDEN, "half-made")));
  });
});

describe("golden-image/pull.sh", () => {
  test("a kubeadm that lists no images fails the pull step", async () => {
    writeFileSync(path.join(node.root, "usr/local/bin/kubeadm"), "#!/usr/bin/env bash\nexit 0\n", {
      mode: 0o755,
    });
    const r = await node.run("golden-image/pull.sh", { K8S_PATCH: "1.35.2", IMAGES: IMAGES.join("\n") });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubeadm v1\.35\.2 listed no images/);
    assert.deepEqual(pulled(), []);
  });
});

describe("golden-image/clean.sh", () => {
  test("removes machine-id, SSH host keys and logs; installs the host-key oneshot; idempotent", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await node.run("golden-image/clean.sh", {});
      assert.equal(r.code, 0, r.stderr);
      assert.equal(node.file("etc/machine-id"), "");
      assert.deepEqual(readdirSync(path.join(node.root, "etc/ssh")), ["sshd_config"]);
      assert.match(node.file("etc/systemd/system/tartlab-ssh-hostkeys.service"), /^Before=ssh\.service$/m);
      assert.equal(node.file("var/log/syslog"), "");
      assert.ok(!existsSync(path.join(node.root, "var/log/syslog.1")));
    }
  });
});

/**
 * "Runs before" edges systemd gives the stock units a golden-image clone boots (Ubuntu 24.04, systemd 255):
 * systemd.socket(5) default dependencies (a socket after sysinit.target, before sockets.target and before the
 * service it activates), systemd.special(7) (basic.target after sysinit.target and sockets.target; multi-user.target
 * after basic.target), systemd.service(5) default dependencies (a service after sysinit.target and basic.target).
 */
const STOCK_ORDER: readonly (readonly [string, string])[] = [
  ["sysinit.target", "ssh.socket"],
  ["ssh.socket", "sockets.target"],
  ["ssh.socket", "ssh.service"],
  ["sysinit.target", "basic.target"],
  ["sockets.target", "basic.target"],
  ["sysinit.target", "ssh.service"],
  ["basic.target", "ssh.service"],
  ["basic.target", "multi-user.target"],
];

/** The "runs before" edges of a unit file's [Unit] section, its default dependencies included. */
function unitOrder(name: string, text: string): [string, string][] {
  const unit = /\[Unit\]\n([\s\S]*?)(?:\n\[|$)/.exec(text)?.[1] ?? "";
  const values = (key: string) =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].flatMap((m) => m[1].split(/\s+/).filter(Boolean));
  const edges: [string, string][] = [
    ...values("Before").map((u): [string, string] => [name, u]),
    ...values("After").map((u): [string, string] => [u, name]),
  ];
  if (!values("DefaultDependencies").includes("no")) {
    edges.push(["sysinit.target", name], ["basic.target", name]);
  }
  return edges;
}

/** A cycle in "runs before" edges (its units, first repeated last), or undefined. */
function orderCycle(edges: readonly (readonly [string, string])[]): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const [a, b] of edges) next.set(a, [...(next.get(a) ?? []), b]);
  const done = new Set<string>();
  const visit = (u: string, path: string[]): string[] | undefined => {
    if (path.includes(u)) return [...path.slice(path.indexOf(u)), u];
    if (done.has(u)) return undefined;
    for (const v of next.get(u) ?? []) {
      const cycle = visit(v, [...path, u]);
      if (cycle) return cycle;
    }
    done.add(u);
    return undefined;
  };
  for (const u of next.keys()) {
    const cycle = visit(u, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("golden-image/clean.sh: the host-key unit in systemd's boot order", () => {
  test("no ordering cycle with ssh.socket (systemd would drop a job, maybe ssh.socket's), and keys before sshd", async () => {
    const r = await node.run("golden-image/clean.sh", {});
    assert.equal(r.code, 0, r.stderr);
    const name = "tartlab-ssh-hostkeys.service";
    const edges = [...STOCK_ORDER, ...unitOrder(name, node.file(`etc/systemd/system/${name}`))];
    assert.equal(orderCycle(edges)?.join(" → "), undefined);
    assert.ok(
      edges.some(([a, b]) => a === name && b === "ssh.service"),
      "ordered before sshd, which needs the keys",
    );
    // The model itself finds the loop a Before=ssh.socket makes.
    assert.deepEqual(
      orderCycle([...STOCK_ORDER, ...unitOrder(name, "[Unit]\nBefore=ssh.service ssh.socket\n")]),
      ["ssh.socket", "sockets.target", "basic.target", name, "ssh.socket"],
    );
  });
});

describe("tart-vm/clone.sh records what a VM was cloned from", () => {
  test("the .source record next to the owner marker names the golden image (npm run images keeps it)", async () => {
    const home = path.join(sb.dir, "tartlab-home");
    const r = await sb.run({
      script: "tart-vm/clone.sh",
      env: { VM_NAME: "dev-worker1", BASE_IMAGE: GOLDEN, OWNER: "tartlab/dev", TARTLAB_HOME: home },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(path.join(home, "vms", "dev-worker1.source"), "utf8"), `${GOLDEN}\n`);
    assert.equal(vmFile("dev-worker1", "source"), GOLDEN);
  });
});
