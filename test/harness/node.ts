/**
 * A fake Ubuntu 24.04 node (the Cirrus Labs image, facts/tart.md §3) for the node scripts: a root directory
 * (TARTLAB_ROOT) whose /usr/bin and /usr/sbin hold only what the base image has. Scripts run with a PATH of those
 * directories alone, so a tool the node lacks cannot leak in from the host: it appears only when `apt-get install`
 * installs the package that ships it (test/harness/node-packages.ts). Behaviour of the fake tools is in
 * test/fakes/node/tools/; pure tools of the base image (coreutils, sed, grep, awk, openssl …) are the host's.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { FAKES_DIR, INTERRUPTIBLE, Sandbox, ShellRun } from "./shell";
import { Action, VM_NAME_MARKER } from "../../lib/shell";
import { BASE_IMAGE, ContainerdLine, PackageRow, k8sRepository, ubuntuArchive } from "./node-packages";

const NODE_FAKES = path.join(FAKES_DIR, "node");
const TOOLS = path.join(NODE_FAKES, "tools");
/** Base-image commands that must not run for real in a test: present, but doing nothing. */
const STUBS = new Set(["mount", "nsenter", "iptables", "ip6tables", "ebtables", "tc", "netplan"]);
/**
 * Body of a fake that hangs for as long as its sandbox exists: the script's own deadline must end it, and the
 * test's sandbox.dispose() releases it otherwise; it has no timer of its own that could end the hang first.
 */
export const HANG = 'while [ -e "$FAKE_CALLS" ]; do sleep 0.05; done';
/** The image's login user (cirruslabs/linux-image-templates cloud-init/user-data.distro-with-admin-group). */
export const LOGIN_USER = "admin";

export interface NodeOptions {
  readonly arch?: string;
  /** containerd line in the Ubuntu archive: 1.7, 2.0 (no SystemdCgroup line) or 2.2 (noble today). */
  readonly containerd?: ContainerdLine;
  /** Patches published per minor on pkgs.k8s.io. */
  readonly kubernetes?: Readonly<Record<string, readonly string[]>>;
  /** Packages missing from every pkgs.k8s.io minor (as happened upstream for new minors). */
  readonly omit?: readonly string[];
  readonly hostname?: string;
  /**
   * The Tart VM this node is: its identity marker (/etc/tartlab/vm-name), as scripts/tart-vm/address.sh writes it
   * through `tart exec` on the real VM. Every remote bundle checks it (lib/shell.ts).
   */
  readonly vm?: string;
}

export interface FakeNode {
  readonly root: string;
  /** The process environment a node script runs with (PATH of the node alone, fake knobs). */
  readonly processEnv: Record<string, string>;
  run(script: string, env: Record<string, string>, extra?: Record<string, string>): Promise<ShellRun>;
  /** Runs a bundle exactly as a component recorded it (its stdin under mocks); `script` names the trace. */
  runBundle(
    script: string,
    stdin: string,
    action?: Action,
    extra?: Record<string, string>,
  ): Promise<ShellRun>;
  /** Publishes another patch of a minor on pkgs.k8s.io (seen after the next `apt-get update`). */
  publish(minor: string, patch: string): void;
  installed(pkg: string): string | undefined;
  held(): string[];
  /** True when `tool` is on the node's PATH. */
  has(tool: string): boolean;
  /** How often a systemd unit was (re)started. */
  starts(unit: string): number;
  file(rel: string): string;
}

function wrapper(name: string, body: string): string {
  return `#!/usr/bin/env bash\nprintf '%s\\n' "${name}\${*:+ $*}" >>"$FAKE_CALLS"\n${body}\n`;
}

export function fakeNode(sb: Sandbox, opts: NodeOptions = {}): FakeNode {
  const root = path.join(sb.dir, "root");
  const state = path.join(sb.dir, "node");
  const arch = opts.arch ?? "arm64";
  const kubernetes = opts.kubernetes ?? { "1.35": ["1.35.0", "1.35.1", "1.35.2"] };
  for (const d of [
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
    "etc/netplan",
    "etc/modules-load.d",
    "etc/sysctl.d",
    "etc/apt/sources.list.d",
    "var/lib/dbus",
    "var/lib/dpkg/fake-status",
    "var/log",
    "run",
    "proc/sys/net/ipv4",
    `home/${LOGIN_USER}`,
  ]) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  mkdirSync(path.join(state, "lib"), { recursive: true });

  // Files of the image.
  const write = (rel: string, text: string) => writeFileSync(path.join(root, rel), text);
  write("etc/hostname", `${opts.hostname ?? "ubuntu"}\n`);
  write("etc/hosts", "127.0.0.1 localhost\n127.0.1.1 ubuntu\n");
  write("etc/fstab", "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n/swap.img none swap sw 0 0\n");
  write("etc/machine-id", "image-machine-id\n");
  write(
    "etc/passwd",
    `root:x:0:0:root:/root:/bin/bash\n${LOGIN_USER}:x:1000:1000::/home/${LOGIN_USER}:/bin/bash\n`,
  );
  write(
    "etc/netplan/50-cloud-init.yaml",
    "network:\n  ethernets:\n    en:\n      match: {name: en*}\n      dhcp4: true\n      dhcp-identifier: mac\n",
  );
  write("proc/sys/net/ipv4/ip_forward", "0\n");
  // sshd runs (this is how the scripts arrive) with the image's host keys, the same in every clone.
  for (const d of ["etc/ssh", "usr/lib/systemd/system", "run/fake-systemd"]) {
    mkdirSync(path.join(root, d), { recursive: true });
  }
  write("etc/ssh/ssh_host_ed25519_key", "image host key\n");
  write("etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 IMAGEKEY root@ubuntu\n");
  write("usr/lib/systemd/system/ssh.service", "[Service]\nExecStart=/usr/sbin/sshd -D\n");
  write("run/fake-systemd/ssh.active", "");
  if (opts.vm !== undefined) {
    mkdirSync(path.join(root, "etc/tartlab"), { recursive: true });
    writeFileSync(path.join(root, VM_NAME_MARKER), `${opts.vm}\n`, { mode: 0o644 });
  }
  write("run/fake-swap-on", "");

  // The package database: base image installed, the archive and pkgs.k8s.io published.
  const rows: PackageRow[] = [
    ...ubuntuArchive(opts.containerd ?? "2.2"),
    ...Object.entries(kubernetes).flatMap(([minor, patches]) => k8sRepository(minor, patches, opts.omit)),
  ];
  const tsv = (r: PackageRow) =>
    [r.origin, r.name, r.version, r.depends.join(","), r.files.join(",")].join("\t");
  writeFileSync(path.join(state, "repo.tsv"), rows.map(tsv).join("\n") + "\n");
  for (const lib of ["place-file", "postinst"]) {
    writeFileSync(path.join(state, "lib", lib), readFileSync(path.join(NODE_FAKES, "lib", lib), "utf8"));
  }
  for (const [pkg, tools] of Object.entries(BASE_IMAGE)) {
    write(`var/lib/dpkg/fake-status/${pkg}`, "image\n");
    for (const tool of tools) {
      const dir = [
        "sysctl",
        "modprobe",
        "iptables",
        "ip6tables",
        "ebtables",
        "nsenter",
        "swapon",
        "swapoff",
      ].includes(tool)
        ? "usr/sbin"
        : "usr/bin";
      const file = path.join(root, dir, tool);
      if (existsSync(path.join(TOOLS, tool))) {
        writeFileSync(
          file,
          wrapper(tool, `exec ${INTERRUPTIBLE} bash ${JSON.stringify(path.join(TOOLS, tool))} "$@"`),
          {
            mode: 0o755,
          },
        );
      } else if (STUBS.has(tool)) {
        writeFileSync(file, wrapper(tool, `exec ${INTERRUPTIBLE} true`), { mode: 0o755 });
      } else {
        symlinkSync(hostBinary(tool), file);
      }
    }
  }
  // od: coreutils too; used by the fake machine-id generator.
  symlinkSync(hostBinary("od"), path.join(root, "usr/bin/od"));

  const nodePath = ["usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin"]
    .map((d) => path.join(root, d))
    .join(":");
  const processEnv: Record<string, string> = {
    PATH: nodePath,
    TARTLAB_ROOT: root,
    FAKE_NODE: state,
    FAKE_NODE_TOOLS: TOOLS,
    FAKE_NODE_FIXTURES: path.join(__dirname, "..", "fixtures", "containerd"),
    FAKE_ARCH: arch,
    FAKE_HOST_INSTALL: hostBinary("install"),
  };
  const statusDir = path.join(root, "var/lib/dpkg/fake-status");
  const node: FakeNode = {
    root,
    processEnv,
    run: (script, env, extra = {}) => sb.run({ script, env, processEnv: { ...processEnv, ...extra } }),
    runBundle: (script, stdin, action = "create", extra = {}) =>
      sb.run({
        script,
        deleteScript: action === "delete" ? script : undefined,
        stdin,
        action,
        env: {},
        processEnv: { ...processEnv, ...extra },
      }),
    publish(minor, patch) {
      const added = k8sRepository(minor, [patch], opts.omit).filter((r) => r.version.startsWith(patch));
      writeFileSync(path.join(state, "repo.tsv"), added.map(tsv).join("\n") + "\n", { flag: "a" });
    },
    installed(pkg) {
      const f = path.join(statusDir, pkg);
      return existsSync(f) ? readFileSync(f, "utf8").trim() : undefined;
    },
    held() {
      const d = path.join(root, "var/lib/dpkg/fake-holds");
      return existsSync(d) ? readdirSync(d).sort() : [];
    },
    has(tool) {
      return nodePath.split(":").some((d) => existsSync(path.join(d, tool)));
    },
    starts(unit) {
      const f = path.join(root, "run/fake-systemd", `${unit}.starts`);
      return existsSync(f) ? Number(readFileSync(f, "utf8")) : 0;
    },
    file: (rel) => readFileSync(path.join(root, rel), "utf8"),
  };
  return node;
}

export interface Snapshot {
  /** Puts every directory back as it was when the snapshot was taken. */
  restore(): void;
  dispose(): void;
}

/**
 * A copy of whole sandbox directories, restored in place, so a lab built once (nodes prepared, a cluster formed)
 * serves every test of a file: in place, because the fake nodes' files and the fake cluster name absolute paths.
 */
export function snapshot(dirs: readonly string[]): Snapshot {
  const store = mkdtempSync(path.join(tmpdir(), "tartlab-node-snap-"));
  dirs.forEach((d, i) => execFileSync("cp", ["-a", d, path.join(store, String(i))]));
  return {
    restore() {
      dirs.forEach((d, i) => {
        rmSync(d, { recursive: true, force: true });
        execFileSync("cp", ["-a", path.join(store, String(i)), d]);
      });
    },
    dispose: () => rmSync(store, { recursive: true, force: true }),
  };
}

const hostBinaries = new Map<string, string>();
/** Absolute path of a host binary (resolved once, outside the node's PATH). */
function hostBinary(name: string): string {
  let p = hostBinaries.get(name);
  if (p === undefined) {
    p = execFileSync("bash", ["-c", `type -P ${name}`], { encoding: "utf8" }).trim();
    if (!p.startsWith("/")) throw new Error(`host has no ${name} binary for the fake node`);
    hostBinaries.set(name, p);
  }
  return p;
}
