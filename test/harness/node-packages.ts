/**
 * What the fake node's `apt-get` can install: package -> files it ships and packages it depends on, taken from
 * the real packages' metadata. Versions are illustrative (only their order matters); names, files and
 * dependencies are not. A tool exists on the fake node only after the package that ships it is installed.
 */

export interface PackageRow {
  readonly name: string;
  readonly version: string;
  /** "noble" = the Ubuntu archive; "k8s-1.35" = https://pkgs.k8s.io/core:/stable:/v1.35/deb/. */
  readonly origin: string;
  readonly depends: readonly string[];
  /** Absolute paths; executables under a bin/sbin directory become tools on PATH. */
  readonly files: readonly string[];
  /** Where the row was read. */
  readonly source: string;
}

/** kubernetes/release `cmd/krel/templates/latest/<pkg>/<pkg>.spec` (files) and `metadata.yaml` (depends). */
const KREL = "kubernetes/release cmd/krel/templates/latest (read at f618b2a, 2026-07-24)";

/**
 * One minor's pkgs.k8s.io repository. `omit` drops packages, as published minors repeatedly lacked cri-tools
 * or kubernetes-cni (kubernetes/kubernetes #135803, #138534, #141601).
 */
export function k8sRepository(
  minor: string,
  patches: readonly string[],
  omit: readonly string[] = [],
): PackageRow[] {
  const origin = `k8s-${minor}`;
  const rows: PackageRow[] = [];
  for (const patch of patches) {
    const v = `${patch}-1.1`;
    rows.push(
      // metadata.yaml: kubeadm ">= 1.32.0" has no dependencies at all (kubernetes/release#3626, #4387).
      {
        name: "kubeadm",
        version: v,
        origin,
        depends: [],
        files: ["/usr/bin/kubeadm", "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"],
        source: `${KREL}: kubeadm.spec, metadata.yaml kubeadm >= 1.32.0`,
      },
      // kubelet.spec: Requires iptables >= 1.4.21, mount (debbuild), util-linux; metadata.yaml: kubernetes-cni >= 1.2.0.
      {
        name: "kubelet",
        version: v,
        origin,
        depends: ["iptables", "kubernetes-cni", "mount", "util-linux"],
        files: ["/usr/bin/kubelet", "/usr/lib/systemd/system/kubelet.service", "/etc/default/kubelet"],
        source: `${KREL}: kubelet.spec, metadata.yaml kubelet >= 1.28.0`,
      },
      {
        name: "kubectl",
        version: v,
        origin,
        depends: [],
        files: ["/usr/bin/kubectl"],
        source: `${KREL}: kubectl.spec`,
      },
    );
  }
  // cri-tools and kubernetes-cni have their own versions; one each per minor repository.
  rows.push(
    {
      name: "cri-tools",
      version: `${minor}.0-1.1`,
      origin,
      depends: [],
      files: ["/usr/bin/crictl"],
      source: `${KREL}: cri-tools.spec`,
    },
    {
      name: "kubernetes-cni",
      version: "1.7.1-1.1",
      origin,
      depends: [],
      files: [
        "/opt/cni/bin/bridge",
        "/opt/cni/bin/host-local",
        "/opt/cni/bin/loopback",
        "/opt/cni/bin/portmap",
      ],
      source: `${KREL}: kubernetes-cni.spec (/opt/cni/bin/*)`,
    },
  );
  return rows.filter((r) => !omit.includes(r.name));
}

/**
 * Debian bookworm's packages, read with `dpkg-deb -c` / `-f Depends` / postinst (Ubuntu noble's are built from the
 * same packaging; noble is usr-merged, so /sbin/ethtool is /usr/sbin/ethtool there). Library dependencies are
 * left out: every library is present on the image.
 */
const DEB = "Debian bookworm .deb (dpkg-deb -c / -f Depends)";
export const CONTAINERD_VERSIONS = {
  "1.7": "1.7.28-0ubuntu1~24.04.1",
  "2.0": "2.0.5-0ubuntu1",
  "2.2": "2.2.1-0ubuntu1~24.04.1",
} as const;
export type ContainerdLine = keyof typeof CONTAINERD_VERSIONS;

export function ubuntuArchive(containerd: ContainerdLine): PackageRow[] {
  const noble = "noble";
  return [
    {
      name: "containerd",
      version: CONTAINERD_VERSIONS[containerd],
      origin: noble,
      depends: ["runc"],
      files: [
        "/usr/bin/containerd",
        "/usr/bin/containerd-shim-runc-v2",
        "/usr/bin/ctr",
        "/usr/lib/systemd/system/containerd.service",
      ],
      source: `${DEB} containerd 1.6.20~ds1-1+deb12u3; its postinst starts (on upgrade: restarts) containerd.service`,
    },
    {
      name: "runc",
      version: "1.3.3-0ubuntu1~24.04.2",
      origin: noble,
      depends: [],
      files: ["/usr/sbin/runc", "/usr/bin/runc"],
      source: `${DEB} runc 1.1.5+ds1-1+deb12u1`,
    },
    {
      name: "conntrack",
      version: "1:1.4.8-1ubuntu1",
      origin: noble,
      depends: [],
      files: ["/usr/sbin/conntrack"],
      source: `${DEB} conntrack 1:1.4.7-1+b2`,
    },
    {
      name: "socat",
      version: "1.8.0.0-4build3",
      origin: noble,
      depends: [],
      files: ["/usr/bin/socat", "/usr/bin/filan", "/usr/bin/procan"],
      source: `${DEB} socat 1.7.4.4-2`,
    },
    {
      name: "ethtool",
      version: "1:6.7-1build1",
      origin: noble,
      depends: [],
      files: ["/usr/sbin/ethtool"],
      source: `${DEB} ethtool 1:6.1-1`,
    },
    // The `ebtables` command itself already exists: iptables' postinst makes it an alternative to ebtables-nft.
    {
      name: "ebtables",
      version: "2.0.11-6build1",
      origin: noble,
      depends: [],
      files: [
        "/usr/sbin/ebtables-legacy",
        "/usr/sbin/ebtables-legacy-restore",
        "/usr/sbin/ebtables-legacy-save",
      ],
      source: `${DEB} ebtables 2.0.11-5 (+ postinst alternative, lower priority than iptables')`,
    },
  ];
}

/**
 * Packages the Cirrus Labs image already has (Ubuntu 24.04 server cloud image + HWE kernel + tart-guest-agent:
 * cirruslabs/linux-image-templates playbook.yml at bc07a1e) with the commands the node scripts use from them.
 * Not on it (lesson T02): conntrack, socat, ethtool, ebtables-legacy, containerd, anything Kubernetes.
 */
export const BASE_IMAGE: Readonly<Record<string, readonly string[]>> = {
  apt: ["apt-get", "apt-mark"],
  bash: ["bash"],
  "ca-certificates": [],
  coreutils: [
    "cat",
    "chmod",
    "cp",
    "cut",
    "date",
    "dirname",
    "basename",
    "env",
    "head",
    "id",
    "install",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "printf",
    "readlink",
    "rm",
    "rmdir",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "tail",
    "tee",
    "timeout",
    "touch",
    "tr",
    "true",
    "false",
    "uname",
    "wc",
    "echo",
    "seq",
  ],
  curl: ["curl"],
  diffutils: ["cmp", "diff"],
  dpkg: ["dpkg", "dpkg-query"],
  findutils: ["find", "xargs"],
  gpg: ["gpg"],
  grep: ["grep"],
  hostname: ["hostname"],
  iproute2: ["ip", "tc"],
  // iptables' postinst registers ebtables -> ebtables-nft (Debian bookworm iptables 1.8.9-2 postinst).
  iptables: ["iptables", "ip6tables", "ebtables"],
  kmod: ["modprobe"],
  "libc-bin": ["getent"],
  mawk: ["awk"],
  mount: ["mount"],
  "netplan.io": ["netplan"],
  openssl: ["openssl"],
  passwd: ["userdel"],
  // The image's sshd (its host keys are the image's own until identity.sh regenerates them).
  "openssh-server": ["ssh-keygen"],
  procps: ["sysctl"],
  sed: ["sed"],
  systemd: ["systemctl", "hostnamectl", "systemd-machine-id-setup"],
  "util-linux": ["nsenter", "swapon", "swapoff"],
};
