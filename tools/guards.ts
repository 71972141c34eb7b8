/**
 * `npm run test:guards`: for each ordering or safety guarantee, delete (or weaken) the guarding code once and
 * check that the named test file then FAILS. A guard whose removal no test notices is reported.
 * Each mutation is applied to the work tree and always restored.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

interface Guard {
  readonly what: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly test: string;
}

const GUARDS: Guard[] = [
  {
    what: "a rebuilt cluster replaces its provider (and its Kubernetes objects)",
    file: "components/kubeadm-cluster.ts",
    from: "clusterIdentifier: pulumi.interpolate`tartlab/${args.spec.name}/${cp.node.vmId}`,",
    to: "",
    test: "test/cluster.test.ts",
  },
  {
    what: "Jenkins waits for the default StorageClass (T06)",
    file: "components/jenkins.ts",
    from: "dependsOn: [secret, args.storage]",
    to: "dependsOn: [secret]",
    test: "test/platform.test.ts",
  },
  {
    what: "local-path waits for the nodes-Ready gate",
    file: "program.ts",
    from: "after: [cilium.nodesReady]",
    to: "after: []",
    test: "test/platform.test.ts",
  },
  {
    what: "local-path StorageClass made default",
    file: "manifests/local-path.ts",
    from: '"storageclass.kubernetes.io/is-default-class": "true"',
    to: '"storageclass.kubernetes.io/is-default-class": "false"',
    test: "test/local-path.test.ts",
  },
  {
    what: "local-path's first object waits for the gate it is given",
    file: "components/local-path-storage.ts",
    from: "      ...k8sOpts,\n      dependsOn: args.after,\n",
    to: "      ...k8sOpts,\n",
    test: "test/local-path.test.ts",
  },
  {
    what: "local-path provisioner waits for its ConfigMap",
    file: "components/local-path-storage.ts",
    from: "dependsOn: [config, ...rbac],",
    to: "dependsOn: [...rbac],",
    test: "test/local-path.test.ts",
  },
  {
    what: "local-path provisioner waits for its RBAC",
    file: "components/local-path-storage.ts",
    from: "dependsOn: [config, ...rbac],",
    to: "dependsOn: [config],",
    test: "test/local-path.test.ts",
  },
  {
    what: "the default StorageClass exists only once its provisioner runs (Jenkins waits for it)",
    file: "components/local-path-storage.ts",
    from: "dependsOn: [provisioner],",
    to: "dependsOn: [],",
    test: "test/local-path.test.ts",
  },
  {
    what: "local-path tolerates the control-plane taint on a cluster without workers (issue 8, defect 4)",
    file: "manifests/local-path.ts",
    from: "return opts.nodeCount === 1;",
    to: "return false;",
    test: "test/local-path.test.ts",
  },
  {
    what: "the cluster's node count reaches local-path",
    file: "program.ts",
    from: "nodeCount: nodes.length,",
    to: "nodeCount: 3,",
    test: "test/local-path.test.ts",
  },
  {
    what: "Jenkins admin password kept secret",
    file: "components/jenkins.ts",
    from: "this.adminPassword = pulumi.secret(password.result);",
    to: "this.adminPassword = password.result;",
    test: "test/platform.test.ts",
  },
  {
    what: "up restarts dead VMs (T09)",
    file: "program.ts",
    from: "const revived = opts.revive(config, owner(), pulumi.runtime.isDryRun());",
    to: "const revived = { messages: [] as string[] };",
    test: "test/program.test.ts",
  },
  {
    what: "revive touches only this stack's VMs",
    file: "lib/revive.ts",
    from: '].filter((v) => v.State !== "running" && ours(v.Name));',
    to: '].filter((v) => v.State !== "running");',
    test: "test/revive.test.ts",
  },
  {
    what: "no previous (secret) stdout in command environments",
    file: "lib/shell.ts",
    from: "    addPreviousOutputInEnv: false,\n  };",
    to: "  };",
    test: "test/cluster.test.ts",
  },
  {
    what: "a worker of another cluster is reset before joining",
    file: "scripts/kubeadm-cluster/join.sh",
    from: "kubeadm reset -f >/dev/null 2>&1 || true\nfi",
    to: "fi",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    // start's triggers (the clone's id) are a data edge to the clone too: both edges are removed.
    what: "VM start waits for the clone",
    file: "components/tart-vm.ts",
    from: "        triggers: [clone.id],\n      },\n      { parent: this, dependsOn: [clone], deleteBeforeReplace",
    to: "      },\n      { parent: this, deleteBeforeReplace",
    test: "test/program.test.ts",
  },
  {
    what: "clone replaced delete-first (name reuse)",
    file: "components/tart-vm.ts",
    from: "{ parent: this, deleteBeforeReplace: true },",
    to: "{ parent: this },",
    test: "test/program.test.ts",
  },
  {
    what: "node prep after identity",
    file: "components/k8s-node.ts",
    from: "{ parent: this, dependsOn: [identity] }",
    to: "{ parent: this }",
    test: "test/program.test.ts",
  },
  {
    // init also lists the ready step in dependsOn; with its config read from the ready step's stdout, removing that
    // edge alone cannot reorder anything, so the data edge is what is mutated.
    what: "init waits for the node's readiness check (T02) and takes its kubeadm version from it",
    file: "components/kubeadm-cluster.ts",
    from: "const version = cp.node.ready.stdout.apply(parseKubeadmVersion);",
    to: 'const version = pulumi.output("v1.35.2");',
    test: "test/cluster.test.ts",
  },
  {
    what: "network check waits for init (T03)",
    file: "components/kubeadm-cluster.ts",
    from: "dependsOn: [this.init, w.node.ready]",
    to: "dependsOn: [w.node.ready]",
    test: "test/program.test.ts",
  },
  {
    what: "join waits for the network check (T03)",
    file: "components/kubeadm-cluster.ts",
    from: "dependsOn: [netcheck, token]",
    to: "dependsOn: [token]",
    test: "test/program.test.ts",
  },
  {
    what: "kubeconfig waits for init (init -> Cilium)",
    file: "components/kubeadm-cluster.ts",
    from: "{ parent: this, dependsOn: [this.init], additionalSecretOutputs: SECRET_OUTPUTS },\n    );\n    this.kubeconfig",
    to: "{ parent: this, additionalSecretOutputs: SECRET_OUTPUTS },\n    );\n    this.kubeconfig",
    test: "test/program.test.ts",
  },
  {
    what: "Ready gate waits for Cilium",
    file: "components/cilium-install.ts",
    from: "dependsOn: [this.release, ...args.cluster.joins]",
    to: "dependsOn: [...args.cluster.joins]",
    test: "test/program.test.ts",
  },
  {
    what: "Ready gate waits for every join",
    file: "components/cilium-install.ts",
    from: "dependsOn: [this.release, ...args.cluster.joins]",
    to: "dependsOn: [this.release]",
    test: "test/program.test.ts",
  },
  {
    what: "kubeconfig stdout never logged",
    file: "components/kubeadm-cluster.ts",
    from: 'logging: "none" as const',
    to: 'logging: "stdoutAndStderr" as const',
    test: "test/cluster.test.ts",
  },
  {
    what: "join token stored as secret",
    file: "components/kubeadm-cluster.ts",
    from: 'const SECRET_OUTPUTS = ["stdout", "stderr"];',
    to: "const SECRET_OUTPUTS: string[] = [];",
    test: "test/cluster.test.ts",
  },
  {
    what: "YAML numbers refused as versions (V02)",
    file: "lib/lab-config.ts",
    from: 'if (typeof raw === "number") {',
    to: 'if (typeof raw === "number" && false) {',
    test: "test/config.test.ts",
  },
  {
    what: "CIDR overlap check",
    file: "lib/lab-config.ts",
    from: "if (cidrsOverlap(r, other)) {",
    to: "if (false) {",
    test: "test/config.test.ts",
  },
  {
    what: "Cilium cluster id from the cluster's name, never its list position (issue 10)",
    file: "lib/lab-config.ts",
    from: "const id = c.id ?? clusterIdFromName(c.name);",
    to: "const id = c.id ?? ci + 1;",
    test: "test/plans.test.ts",
  },
  {
    what: "Cilium cluster id collisions refused",
    file: "lib/lab-config.ts",
    from: "if (prevId !== undefined && (c.id !== undefined || clustersRaw[prevId].name !== c.name)) {",
    to: "if (false) {",
    test: "test/config.test.ts",
  },
  {
    what: "clone refuses a VM it did not make",
    file: "scripts/tart-vm/clone.sh",
    from: 'if [ "$state" != "absent" ]; then',
    to: "if false; then",
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "quoting escapes single quotes (T01)",
    file: "lib/shell.ts",
    from: "value.replace(/'/g, `'\\\\''`)",
    to: "value",
    test: "test/shell/transport.test.ts",
  },
  {
    what: "join is not repeated on a joined node",
    file: "scripts/kubeadm-cluster/join.sh",
    from: 'if [ -f "$root/etc/kubernetes/kubelet.conf" ]; then',
    to: "if false; then",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "kubeconfig merge takes <file>.lock exclusively (issue 12)",
    file: "lib/kubeconfig-merge.ts",
    from: 'closeSync(openSync(lock, "wx", 0o600));',
    to: 'closeSync(openSync(lock, "w", 0o600));',
    test: "test/kubeconfig-merge.test.ts",
  },
  {
    what: "kubeconfig merge keeps the user's other entries",
    file: "lib/kubeconfig-merge.ts",
    from: "out[key] = [...(doc[key] ?? []).filter((e) => e?.name !== name), entry];",
    to: "out[key] = [entry];",
    test: "test/kubeconfig-merge.test.ts",
  },
  {
    what: "kubeconfig removal removes only the lab's entries",
    file: "lib/kubeconfig-merge.ts",
    from: "out[key] = doc[key].filter((e) => e?.name !== name);",
    to: "out[key] = [];",
    test: "test/kubeconfig-merge.test.ts",
  },
  {
    what: "kubeconfig merge leaves the current context alone unless asked",
    file: "lib/kubeconfig-merge.ts",
    from: 'if (opts.setCurrent) out["current-context"] = name;',
    to: 'out["current-context"] = name;',
    test: "test/kubeconfig-merge.test.ts",
  },
  {
    what: "status: every API request has a deadline",
    file: "lib/status.ts",
    from: "ctx.setSignal(signal);",
    to: "",
    test: "test/status.test.ts",
  },
  {
    what: "status: a stopped VM is not asked for its (stale) IP",
    file: "lib/status.ts",
    from: 'state === "running"\n          ? run("tart", ["ip"',
    to: 'true\n          ? run("tart", ["ip"',
    test: "test/status.test.ts",
  },
  {
    what: "stop asks the guest to power off before tart stop (issue 8 defect 5)",
    file: "scripts/tart-vm/stop.sh",
    from: '_run_with_deadline "$GUEST_EXEC_SECONDS" tart exec "$VM_NAME" sudo systemd-run --on-active=1 systemctl poweroff || rc=$?',
    to: "rc=1",
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "stop waits for the guest's poweroff before forcing",
    file: "scripts/tart-vm/stop.sh",
    from: '0) state=$(_wait_not_running "$GRACEFUL_STOP_SECONDS") ;;',
    to: "0) state=running ;;",
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "the pkgs.k8s.io package preflight runs before any resource (issue 8 defect 1)",
    file: "program.ts",
    from: "await checkPackagesPreflight(lab.config, opts.packageIndex, pulumi.runtime.isDryRun());",
    to: "",
    test: "test/preflight.test.ts",
  },
  {
    what: "softnet must be owned by root, not only SUID (issue 8 defect 7)",
    file: "lib/host.ts",
    from: "!(h.softnetSuid && h.softnetRootOwned)",
    to: "!h.softnetSuid",
    test: "test/host.test.ts",
  },
  {
    what: "revive looks for tart on the scripts' PATH (issue 8 defect 6)",
    file: "lib/revive.ts",
    from: "env = withTartPath(env);",
    to: "",
    test: "test/revive.test.ts",
  },
  {
    what: "prepare installs cri-tools (crictl), which verify.sh needs: kubeadm >= 1.32 no longer pulls it (T02)",
    file: "scripts/k8s-node/prepare.sh",
    from: '"kubectl$pin" "$crictl_pkg"',
    to: '"kubectl$pin"',
    test: "test/shell/node-sequence.test.ts",
  },
  {
    what: "a re-run keeps the installed patch of the minor (no silent upgrade)",
    file: "scripts/k8s-node/prepare.sh",
    from: 'case "$have" in "${K8S_MINOR}".*) patch=${have%%-*} ;; esac',
    to: "",
    test: "test/shell/k8s-node.test.ts",
  },
  {
    what: "containerd restarted only when its config changed",
    file: "scripts/k8s-node/prepare.sh",
    from: 'if cmp -s "$new" "$conf"; then',
    to: "if false; then",
    test: "test/shell/k8s-node.test.ts",
  },
  {
    what: "SystemdCgroup = true written under the runc options even when containerd 2.0/2.1 prints none",
    file: "scripts/k8s-node/prepare.sh",
    from: 'if (key == "SystemdCgroup") put("SystemdCgroup = true")',
    to: 'if (key == "SystemdCgroup") put("")',
    test: "test/shell/k8s-node.test.ts",
  },
  {
    what: "kubernetesVersion always written (never kubeadm's online stable-1)",
    file: "lib/kubeadm.ts",
    from: "    kubernetesVersion,\n    controlPlaneEndpoint",
    to: "    controlPlaneEndpoint",
    test: "test/shell/node-sequence.test.ts",
  },
  {
    what: "a cluster without workers has an untainted control plane",
    file: "lib/kubeadm.ts",
    from: "...(i.untaintControlPlane ? { taints: [] } : {}),",
    to: "",
    test: "test/cluster.test.ts",
  },
  {
    what: "a worker with another kubeadm version than the control plane is not joined",
    file: "scripts/kubeadm-cluster/join.sh",
    from: 'if [ "$have" != "$KUBERNETES_VERSION" ]; then',
    to: "if false; then",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "netcheck's probe has its own timeout (a dropped-packet connect hangs for minutes)",
    file: "scripts/kubeadm-cluster/netcheck.sh",
    from: 'until timeout "$NETCHECK_PROBE_SECONDS" bash',
    to: "until bash",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "member-wait: a node that never registers fails",
    file: "scripts/kubeadm-cluster/member-wait.sh",
    from: 'within ${WAIT_SECONDS}s" >&2\n    exit 1',
    to: 'within ${WAIT_SECONDS}s" >&2\n    exit 0',
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "member-wait: each kubectl call is bounded",
    file: "scripts/kubeadm-cluster/member-wait.sh",
    from: 'until timeout "$KUBECTL_TIMEOUT_SECONDS" kubectl',
    to: "until kubectl",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "join retries a failed attempt (3 by default)",
    file: "scripts/kubeadm-cluster/join.sh",
    from: ': "${JOIN_ATTEMPTS:=3}"',
    to: ': "${JOIN_ATTEMPTS:=1}"',
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "each join attempt is bounded (V09)",
    file: "scripts/kubeadm-cluster/join.sh",
    from: 'until timeout "$JOIN_TIMEOUT_SECONDS" kubeadm join',
    to: "until kubeadm join",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "kubeadm token create is bounded",
    file: "scripts/kubeadm-cluster/join-token.sh",
    from: 'if ! token=$(timeout "$TOKEN_TIMEOUT_SECONDS" kubeadm',
    to: "if ! token=$(kubeadm",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "join-token refuses output that is not a bootstrap token",
    file: "scripts/kubeadm-cluster/join-token.sh",
    from: 'if ! [[ "$token" =~ ^[a-z0-9]{6}\\.[a-z0-9]{16}$ ]]; then',
    to: "if false; then",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "join-token refuses an empty CA hash",
    file: "scripts/kubeadm-cluster/join-token.sh",
    from: 'if ! [[ "$hash" =~ ^[0-9a-f]{64}$ ]]; then',
    to: "if false; then",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "kubeconfig.sh fails when init has not produced admin.conf",
    file: "scripts/kubeadm-cluster/kubeconfig.sh",
    from: 'if [ ! -s "$conf" ]; then',
    to: "if false; then",
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "member-remove deletes the Node object even when drain times out",
    file: "scripts/kubeadm-cluster/member-remove.sh",
    from: 'removing it anyway" >&2\nkubectl delete node',
    to: 'removing it anyway" >&2\nexit 0\nkubectl delete node',
    test: "test/shell/kubeadm-cluster.test.ts",
  },
  {
    what: "nodes-ready retries a node that is not registered yet (T05)",
    file: "scripts/cilium-install/nodes-ready.sh",
    from: '  if [ "$SECONDS" -ge "$deadline" ]; then',
    to: "  if true; then",
    test: "test/shell/cilium-install.test.ts",
  },
  {
    what: "nodes-ready: a hung kubectl wait is cut off",
    file: "scripts/cilium-install/nodes-ready.sh",
    from: 'if timeout "$((left + 10))" kubectl wait',
    to: "if kubectl wait",
    test: "test/shell/cilium-install.test.ts",
  },
  {
    what: "Jenkins' controller (so its local-path PV) is pinned to the control plane (issue 10)",
    file: "manifests/jenkins-values.ts",
    from: 'nodeSelector: { [CONTROL_PLANE_LABEL]: "" },',
    to: "nodeSelector: {},",
    test: "test/platform.test.ts",
  },
  {
    what: "jenkins.retainData: the namespace is only dropped from state",
    file: "components/jenkins.ts",
    from: "{ ...k8sOpts, retainOnDelete: args.retainData },",
    to: "k8sOpts,",
    test: "test/platform.test.ts",
  },
  {
    what: "jenkins.retainData: Helm keeps the home PVC on uninstall",
    file: "manifests/jenkins-values.ts",
    from: "...(retainData ? { annotations: HELM_KEEP } : {})",
    to: "",
    test: "test/platform.test.ts",
  },
  {
    what: "removing a VM that holds a local-path volume is refused without tartlab:allowDataLoss",
    file: "lib/data-guard.ts",
    from: "if (config.allowDataLoss) {",
    to: "if (true) {",
    test: "test/data-guard.test.ts",
  },
  {
    what: "a PV counts when pinned to a VM that goes away",
    file: "lib/data-guard.ts",
    from: "pinnedNodes(pv).filter((n) => gone.has(n))",
    to: "pinnedNodes(pv).filter(() => false)",
    test: "test/data-guard.test.ts",
  },
  {
    what: "an API that does not answer refuses a VM removal (cannot prove the data safe)",
    file: "lib/data-guard.ts",
    from: "for (const u of unreadable) {",
    to: "for (const u of [] as string[]) {",
    test: "test/data-guard.test.ts",
  },
  {
    what: "the data preflight runs in program() before anything is registered or revived",
    file: "program.ts",
    from: "if (opts.dataGuard) await checkDataPreflight(lab.config, opts.dataGuard);",
    to: "",
    test: "test/data-guard.test.ts",
  },
  {
    what: "npm run stop/start leave VMs of other stacks and foreign VMs alone (owner markers)",
    file: "lib/lab-power.ts",
    from: "} else if (marker !== owner) {",
    to: "} else if (marker === undefined) {",
    test: "test/lab-power.test.ts",
  },
  {
    what: "the kubeconfig reaches the merge on stdin only, not in node's environment",
    file: "scripts/kubeadm-cluster/host-kubeconfig.sh",
    from: "        unset KUBECONFIG_CONTENT\n",
    to: "",
    test: "test/shell/host-kubeconfig.test.ts",
  },
  {
    what: "tartlab:kubeconfig.merge false undoes an earlier merge (files only)",
    file: "scripts/kubeadm-cluster/host-kubeconfig.sh",
    from: 'false) _kubeconfig_cli remove "$CLUSTER_NAME" ;;',
    to: "false) ;;",
    test: "test/shell/host-kubeconfig.test.ts",
  },
  {
    what: "deleting a cluster removes its context from the user's kubeconfig",
    file: "scripts/kubeadm-cluster/host-kubeconfig-remove.sh",
    from: '_kubeconfig_cli remove "$CLUSTER_NAME"\n',
    to: "\n",
    test: "test/shell/host-kubeconfig.test.ts",
  },
  {
    what: "only the cluster named by tartlab:kubeconfig.currentContext becomes current",
    file: "components/kubeadm-cluster.ts",
    from: "SET_CURRENT_CONTEXT: String(args.contexts.currentContext === args.spec.name),",
    to: 'SET_CURRENT_CONTEXT: "true",',
    test: "test/contexts.test.ts",
  },
  {
    what: "the memory preflight names the small stack and its commands",
    file: "lib/host.ts",
    from: "smallStackHint(wantMem, h.memoryBytes),",
    to: '"",',
    test: "test/small-stack.test.ts",
  },
  {
    what: "the dashboard binds a non-loopback address only with --allow-remote",
    file: "lib/dashboard.ts",
    from: "if (isLoopback(host) || allowRemote) return undefined;",
    to: "return undefined;",
    test: "test/dashboard.test.ts",
  },
  {
    what: "the dashboard is read-only (405 for anything but GET and HEAD)",
    file: "lib/dashboard.ts",
    from: 'if (req.method !== "GET" && req.method !== "HEAD") {',
    to: "if (false) {",
    test: "test/dashboard.test.ts",
  },
  {
    what: "the dashboard answers only requests naming a loopback host (DNS rebinding)",
    file: "lib/dashboard.ts",
    from: "if (!opts.allowRemote && !isLoopback(host)) {",
    to: "if (false) {",
    test: "test/dashboard.test.ts",
  },
  {
    what: "concurrent dashboard loads share one in-flight collection",
    file: "lib/dashboard.ts",
    from: "inFlight ??= collect()",
    to: "inFlight = collect()",
    test: "test/dashboard.test.ts",
  },
  {
    what: "open dashboard pages share one refresh loop",
    file: "lib/dashboard.ts",
    from: "loop ??= runLoop()",
    to: "loop = runLoop()",
    test: "test/dashboard.test.ts",
  },
  {
    what: "issue 10: existing nodes keep the version they were prepared with (a version change never re-runs prepare)",
    file: "program.ts",
    from: "const kubernetesVersion = nodeVersion(cluster, spec.name, record);",
    to: "const kubernetesVersion = cluster.kubernetesVersion;",
    test: "test/plans.test.ts",
  },
  {
    what: "issue 10: a downgrade, skipped minor or several clusters at once is refused before anything changes",
    file: "program.ts",
    from: "if (versionProblems.length > 0) {",
    to: "if (versionProblems.length < 0) {",
    test: "test/plans.test.ts",
  },
  {
    what: "issue 10: workers are upgraded one after another, after the control plane",
    file: "components/kubeadm-cluster.ts",
    from: "{ parent: this, dependsOn: [previous, this.joins[i]] },",
    to: "{ parent: this, dependsOn: [this.joins[i]] },",
    test: "test/plans.test.ts",
  },
  {
    what: "issue 10: the version record is written only after the whole upgrade chain",
    file: "components/kubeadm-cluster.ts",
    from: "{ parent: this, dependsOn: [previous, ...this.joins] },",
    to: "{ parent: this, dependsOn: [...this.joins] },",
    test: "test/plans.test.ts",
  },
  {
    what: "issue 10: the control plane refuses a downgrade (script backstop)",
    file: "scripts/kubeadm-cluster/upgrade-control-plane.sh",
    from: 'if [ "$want_minor" -lt "$have_minor" ] ||',
    to: "if false ||",
    test: "test/shell/upgrade.test.ts",
  },
  {
    what: "issue 10: kubeadm is unheld for its upgrade (held packages never change silently)",
    file: "scripts/kubeadm-cluster/upgrade-control-plane.sh",
    from: "apt-mark unhold kubeadm >/dev/null\n",
    to: "",
    test: "test/shell/upgrade.test.ts",
  },
  {
    what: "issue 10: a drain that does not finish stops the worker's upgrade",
    file: "scripts/kubeadm-cluster/upgrade-drain.sh",
    from: 'it stays cordoned and is not upgraded. Fix the pod, then run pulumi up again" >&2\n  exit 1',
    to: 'it stays cordoned and is not upgraded. Fix the pod, then run pulumi up again" >&2',
    test: "test/shell/upgrade.test.ts",
  },
  {
    what: "issue 10: the control plane's upgrade prints only the version (apt output to stderr)",
    file: "scripts/kubeadm-cluster/upgrade-control-plane.sh",
    from: '"$@" </dev/null >&2; }',
    to: '"$@" </dev/null; }',
    test: "test/shell/upgrade.test.ts",
  },
  {
    what: "prepare refuses a kubeadm that names no pause image (no containerd config with an empty sandbox)",
    file: "scripts/k8s-node/prepare.sh",
    from: 'if [ -z "$pause" ]; then',
    to: "if false; then",
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "prepare refuses a containerd config it could not set SystemdCgroup in",
    file: "scripts/k8s-node/prepare.sh",
    from: `if ! grep -Eq '^[[:space:]]*SystemdCgroup = true$' "$new" || ! grep -Fq "$pause" "$new"; then`,
    to: "if false; then",
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "prepare removes its temporary containerd config when it refuses it",
    file: "scripts/k8s-node/prepare.sh",
    from: `  rm -f "$new"\n  echo "tartlab: $NODE_NAME: containerd's default config`,
    to: `  echo "tartlab: $NODE_NAME: containerd's default config`,
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "verify: every preflight tool is checked",
    file: "scripts/k8s-node/verify.sh",
    from: "for tool in kubeadm kubelet kubectl containerd",
    to: "for tool in kubeadm kubelet containerd",
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "verify: ip_forward must be 1",
    file: "scripts/k8s-node/verify.sh",
    from: 'if [ "$(cat "$root/proc/sys/net/ipv4/ip_forward")" != 1 ]; then',
    to: "if false; then",
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "verify: swap must be off",
    file: "scripts/k8s-node/verify.sh",
    from: 'if [ -n "$(swapon --noheadings --show)" ]; then',
    to: "if false; then",
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "verify: containerd must be running",
    file: "scripts/k8s-node/verify.sh",
    from: "systemctl is-active --quiet containerd ||",
    to: "true ||",
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "init: a missing login user is named (getent's exit 2 must not end the script silently)",
    file: "scripts/kubeadm-cluster/init.sh",
    from: 'home=$({ getent passwd "$LOGIN_USER" || true; } | cut -d: -f6)',
    to: 'home=$(getent passwd "$LOGIN_USER" | cut -d: -f6)',
    test: "test/shell/node-failures.test.ts",
  },
  {
    what: "stop fails when the VM is still running after tart stop",
    file: "scripts/tart-vm/stop.sh",
    from: 'if [ "$state" = "running" ]; then\n  echo "tartlab: VM \\"$VM_NAME\\" is still running after',
    to: 'if false; then\n  echo "tartlab: VM \\"$VM_NAME\\" is still running after',
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "revive refuses tart list JSON that is not a list of VMs (no TypeError at pulumi up)",
    file: "lib/revive.ts",
    from: 'if (!Array.isArray(entries) || !entries.every((v) => v !== null && typeof v === "object")) {',
    to: "if (false) {",
    test: "test/tart-json.test.ts",
  },
  {
    what: "status reads only a JSON object from tart get",
    file: "lib/status.ts",
    from: 'if (got && typeof got === "object" && !Array.isArray(got)) return got as TartGet;',
    to: "return got as TartGet;",
    test: "test/tart-json.test.ts",
  },
  {
    what: "status: a tart list of non-objects is reported, not read",
    file: "lib/status.ts",
    from: '!Array.isArray(list) || !list.every((v) => v !== null && typeof v === "object")',
    to: "!Array.isArray(list)",
    test: "test/tart-json.test.ts",
  },
  {
    what: "host preflight: free disk rounds down, so one byte short never reads as the minimum",
    file: "lib/host.ts",
    from: "const gbDown = (bytes: number) => `${Math.floor(",
    to: "const gbDown = (bytes: number) => `${Math.round(",
    test: "test/boundaries.test.ts",
  },
  // Issue 10, VM rows (docs/plans.md).
  {
    what: "the provider's identity is the control plane's clone id, not anything read over SSH (row 1)",
    file: "components/kubeadm-cluster.ts",
    from: "clusterIdentifier: pulumi.interpolate`tartlab/${args.spec.name}/${cp.node.vmId}`,",
    to: "clusterIdentifier: pulumi.unsecret(this.kubeconfig).apply((k) => k.slice(0, 64)),",
    test: "test/plans.test.ts",
  },
  {
    what: "everything reads the VM's IP from the address step, which a resize does not update (rows 1, 9)",
    file: "components/tart-vm.ts",
    from: "this.ip = this.running.stdout;",
    to: "this.ip = start.stdout;",
    test: "test/plans.test.ts",
  },
  {
    what: "a re-cloned VM is started again (start carries the clone id in triggers; rows 2, 8)",
    file: "components/tart-vm.ts",
    from: "        triggers: [clone.id],\n      },\n      { parent: this, dependsOn: [clone], deleteBeforeReplace: true },",
    to: "      },\n      { parent: this, dependsOn: [clone], deleteBeforeReplace: true },",
    test: "test/plans.test.ts",
  },
  {
    what: "a re-cloned VM is prepared again (node steps carry the VM id in triggers; rows 2, 8)",
    file: "components/k8s-node.ts",
    from: "const triggers = [this.vmId];",
    to: "const triggers: pulumi.Output<string>[] = [];",
    test: "test/plans.test.ts",
  },
  {
    what: "a rebuilt worker gets a fresh join token and joins again (row 8)",
    file: "components/kubeadm-cluster.ts",
    from: "const triggers = [w.node.vmId, cp.node.vmId];",
    to: "const triggers: pulumi.Output<string>[] = [];",
    test: "test/plans.test.ts",
  },
  {
    what: "start.sh leaves a running VM alone unless its size or run options differ",
    file: "scripts/tart-vm/start.sh",
    from: 'if [ -z "$why" ]; then',
    to: "if false; then",
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "start.sh refuses a disk shrink before touching the VM",
    file: "scripts/tart-vm/start.sh",
    from: 'if [ "$DISK_GB" -lt "$disk" ]; then',
    to: "if false; then",
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "a restart for a resize is graceful (stop.sh's logic), not tart stop",
    file: "scripts/tart-vm/start.sh",
    from: 'bash -c "$STOP_SCRIPT" tartlab-stop ||',
    to: 'tart stop "$VM_NAME" ||',
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "revive starts this stack's stopped VMs that the config no longer lists, so their removal can run (row 7)",
    file: "lib/revive.ts",
    from: "    ...(unlisted ? entries.filter((v) => !configured.has(v.Name)) : []),\n",
    to: "",
    test: "test/revive.test.ts",
  },
  {
    what: "start.sh never resizes a VM that a stop step left running",
    file: "scripts/tart-vm/start.sh",
    from: '[ "$state" != running ] || _fail "still running after the stop step;',
    to: 'true || _fail "still running after the stop step;',
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "address.sh prints only an IPv4 address",
    file: "scripts/tart-vm/address.sh",
    from: "  *[!0-9.]*)",
    to: "  *[!0-9.:a-f]*)",
    test: "test/shell/tart-vm.test.ts",
  },
  {
    what: "npm run start leaves this stack's VMs outside the config alone",
    file: "lib/lab-power.ts",
    from: "reviveStoppedVms(config, owner, false, env, false)",
    to: "reviveStoppedVms(config, owner, false, env, true)",
    test: "test/lab-power.test.ts",
  },
  {
    what: "a failed golden-image bake deletes its temporary VM (issue 14)",
    file: "scripts/golden-image/bake.sh",
    from: `echo "tartlab: golden image: bake failed; deleting $tmp" >&2; _discard;`,
    to: `echo "tartlab: golden image: bake failed; deleting $tmp" >&2;`,
    test: "test/shell/golden-image.test.ts",
  },
  {
    what: "the golden image is renamed to its final name only after a clean poweroff",
    file: "scripts/golden-image/bake.sh",
    from: `tart exec "$tmp" sudo systemd-run --on-active=1 systemctl poweroff >/dev/null`,
    to: `tart stop "$tmp" >/dev/null`,
    test: "test/shell/golden-image.test.ts",
  },
  {
    what: "an existing golden image is reused, not baked again",
    file: "scripts/golden-image/bake.sh",
    from: `if [ "$(_vm_state "$GOLDEN_NAME")" != absent ]; then`,
    to: `if false; then`,
    test: "test/shell/golden-image.test.ts",
  },
  {
    what: "guest output stays off the bake's stdout (the golden image's name)",
    file: "scripts/golden-image/bake.sh",
    from: `tart exec -i "$tmp" sudo bash -s >&2`,
    to: `tart exec -i "$tmp" sudo bash -s`,
    test: "test/shell/golden-image.test.ts",
  },
  {
    what: "node VM clones take the golden image's name as an input (a new image cascades)",
    file: "program.ts",
    from: "baseImage: golden ? golden.name : config.baseImage,",
    to: "baseImage: config.baseImage,",
    test: "test/golden-image.test.ts",
  },
  {
    what: "golden-image clones skip the per-node package and image work",
    file: "program.ts",
    from: "prepared: golden !== undefined,",
    to: "prepared: false,",
    test: "test/golden-image.test.ts",
  },
  {
    what: "the golden image's name digests the prep scripts",
    file: "components/golden-image.ts",
    from: "    Object.entries(inputs.scripts).sort(([a], [b]) => a.localeCompare(b)),\n",
    to: "",
    test: "test/golden-image.test.ts",
  },
  {
    what: "the golden image needs an exact Kubernetes version",
    file: "lib/lab-config.ts",
    from: "if (goldenImage && kubernetesVersion && ",
    to: "if (false && goldenImage && kubernetesVersion && ",
    test: "test/golden-image.test.ts",
  },
  {
    what: "prune keeps a golden image that an existing VM was cloned from",
    file: "ops/images.ts",
    from: ".filter(([vm, src]) => src === v.Name && exists.has(vm))",
    to: ".filter(([vm, src]) => src === v.Name && exists.has(vm) && false)",
    test: "test/images.test.ts",
  },
  {
    what: "prune never deletes a running golden image",
    file: "ops/images.ts",
    from: ': v.State === "running"',
    to: ': v.State === "never"',
    test: "test/images.test.ts",
  },
  {
    what: "a clone records its source (prune keeps golden images in use)",
    file: "scripts/tart-vm/clone.sh",
    from: `printf '%s\\n' "$BASE_IMAGE" >"$marker_dir/$VM_NAME.source"`,
    to: "",
    test: "test/shell/golden-image.test.ts",
  },
  {
    what: "the performance model's critical path is weighted by duration, not by step count",
    file: "lib/perf-model.ts",
    from: "if (c.seconds > best.seconds || (c.seconds === best.seconds && c.path.length > best.path.length))",
    to: "if (c.path.length > best.path.length)",
    test: "test/perf-model.test.ts",
  },
  {
    what: "measured durations win only for the scenario they were recorded in",
    file: "lib/perf-model.ts",
    from: "    measured.scenario.golden === scenario.golden &&",
    to: "",
    test: "test/perf-model.test.ts",
  },
  {
    what: "refresh with stopped VMs keeps the Kubernetes objects: deleteUnreachable only by the explicit switch (issue 11)",
    file: "components/kubeadm-cluster.ts",
    from: "deleteUnreachable: args.forgetUnreachable,",
    to: "deleteUnreachable: true,",
    test: "test/cluster.test.ts",
  },
  {
    what: "an interrupted clone stays ours: the claim comes before tart clone (issue 11 item 4)",
    file: "scripts/tart-vm/clone.sh",
    from: 'printf \'%s\\n\' "$OWNER" >"$marker"\n# A clone record left',
    to: "# A clone record left",
    test: "test/shell/resume.test.ts",
  },
  {
    what: "an interrupted clone is finished (its own MAC) by the next run (issue 11 item 4)",
    file: "scripts/tart-vm/clone.sh",
    from: 'if ! [ -f "$marker_dir/$VM_NAME.source" ]; then',
    to: "if false; then",
    test: "test/shell/resume.test.ts",
  },
  {
    what: "node preparation finishes a dpkg run an interruption left (dpkg --configure -a) before apt (issue 11 item 4)",
    file: "scripts/k8s-node/prepare.sh",
    from: "if _dpkg_interrupted; then",
    to: "if false; then",
    test: "test/shell/resume.test.ts",
  },
  {
    what: "a containerd restart owed survives an interruption (issue 11 item 4)",
    file: "scripts/k8s-node/prepare.sh",
    from: '  : >"$restart_owed"\n',
    to: "",
    test: "test/shell/resume.test.ts",
  },
  {
    what: "containerd's staged config has a fixed name: an interruption leaves no stray temp file (issue 11 item 4)",
    file: "scripts/k8s-node/prepare.sh",
    from: 'new="$conf.tartlab-new"',
    to: 'new=$(mktemp "$root/etc/containerd/.config.toml.XXXXXX")',
    test: "test/shell/resume.test.ts",
  },
  {
    what: "a stale clone record never makes a cut-off clone look finished (issue 11 item 4)",
    file: "scripts/tart-vm/clone.sh",
    from: 'rm -f "$marker_dir/$VM_NAME.source"\n',
    to: "",
    test: "test/shell/resume.test.ts",
  },
  {
    what: "destroy leaves no record of the VM on the Mac (issue 11 item 4)",
    file: "scripts/tart-vm/delete.sh",
    from: '_forget() { rm -f "$marker" "$records/$VM_NAME.source" "$records/$VM_NAME.run" "$records/$VM_NAME.ip"; }',
    to: '_forget() { rm -f "$marker"; }',
    test: "test/shell/resume.test.ts",
  },
];

function testFails(testFile: string): boolean {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--test", testFile], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return r.status !== 0;
}

// A guard whose text no longer matches its file (an edit moved the code) or whose test file is gone would only be
// found after every mutation before it has run; check them all first. `--check` does only this (npm test runs it).
function stale(g: Guard): string | undefined {
  if (!existsSync(path.join(ROOT, g.test))) return `test file ${g.test} does not exist`;
  const file = path.join(ROOT, g.file);
  if (!existsSync(file)) return `${g.file} does not exist`;
  const text = readFileSync(file, "utf8");
  if (!text.includes(g.from)) return `"${g.from}" not found in ${g.file}`;
  if (g.from === g.to) return "the mutation changes nothing";
  return undefined;
}

// Optional argument: only the guards whose file contains it (while iterating), e.g. `kubeadm-cluster/`.
const arg = process.argv[2];
const checkOnly = arg === "--check";
const only = checkOnly ? undefined : arg;
const selected = only ? GUARDS.filter((g) => g.file.includes(only)) : GUARDS;
const problems = selected.flatMap((g) => {
  const why = stale(g);
  return why ? [`MISSING  ${g.what}: ${why} (update tools/guards.ts)`] : [];
});
if (problems.length > 0 || checkOnly) {
  for (const p of problems) console.log(p);
  console.log(`${selected.length - problems.length} guards apply, ${problems.length} stale`);
  process.exit(problems.length === 0 ? 0 : 1);
}
let unguarded = 0;
for (const g of selected) {
  const file = path.join(ROOT, g.file);
  const original = readFileSync(file, "utf8");
  try {
    writeFileSync(file, original.replace(g.from, g.to));
    const caught = testFails(g.test);
    console.log(`${caught ? "caught  " : "MISSED  "} ${g.what} (${g.file} -> ${g.test})`);
    if (!caught) unguarded++;
  } finally {
    writeFileSync(file, original);
  }
}
console.log(`${selected.length - unguarded} passed, ${unguarded} failed`);
process.exit(unguarded === 0 ? 0 : 1);
