import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { ciliumValues } from "../components/cilium-install";
import { initConfig, joinConfig, parseJoinToken, parseKubeadmVersion } from "../lib/kubeadm";
import { rewriteKubeconfig } from "../lib/kubeconfig";
import {
  FAKE_ADMIN_CONF,
  FAKE_CA_HASH,
  FAKE_KUBEADM_VERSION,
  FAKE_TOKEN,
  Recorder,
  bundleEnv,
  fakeIp,
  isSecretValue,
  runLab,
  sharedLab,
  unwrap,
} from "./harness/pulumi";
import { soloStackConfig } from "./harness/stacks";

describe("kubeadm config (v1beta4)", () => {
  test("init config: advertise address, node-ip, subnets, kube-proxy off, cluster name (V08, T04)", () => {
    const docs = parseAllDocuments(
      initConfig({
        clusterName: "dev",
        nodeName: "dev-master",
        nodeIp: "192.168.64.7",
        podCidr: "10.20.0.0/16",
        serviceCidr: "10.97.0.0/16",
        kubernetesVersion: "v1.33.4",
        untaintControlPlane: false,
      }),
    ).map((d) => d.toJSON());
    assert.deepEqual(docs, [
      {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "InitConfiguration",
        localAPIEndpoint: { advertiseAddress: "192.168.64.7", bindPort: 6443 },
        nodeRegistration: {
          name: "dev-master",
          criSocket: "unix:///run/containerd/containerd.sock",
          kubeletExtraArgs: [{ name: "node-ip", value: "192.168.64.7" }],
        },
        timeouts: { controlPlaneComponentHealthCheck: "4m0s", kubeletHealthCheck: "4m0s" },
      },
      {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        clusterName: "dev",
        kubernetesVersion: "v1.33.4",
        controlPlaneEndpoint: "192.168.64.7:6443",
        networking: { podSubnet: "10.20.0.0/16", serviceSubnet: "10.97.0.0/16", dnsDomain: "cluster.local" },
        proxy: { disabled: true },
        apiServer: { certSANs: ["192.168.64.7", "127.0.0.1"] },
      },
      { apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration", cgroupDriver: "systemd" },
    ]);
  });

  const cfg = (kubernetesVersion: string, untaintControlPlane = false) =>
    parseAllDocuments(
      initConfig({
        clusterName: "c",
        nodeName: "n",
        nodeIp: "192.168.64.2",
        podCidr: "10.1.0.0/16",
        serviceCidr: "10.2.0.0/16",
        kubernetesVersion,
        untaintControlPlane,
      }),
    ).map((d) => d.toJSON());

  test("kubernetesVersion is always the exact installed version, a string (V02)", () => {
    assert.equal(cfg("v1.30.10")[1].kubernetesVersion, "v1.30.10");
    // A bare minor would leave kubeadm to resolve `stable-1` online: refused, never written.
    assert.throws(() => cfg("1.33"), /expected an exact kubeadm version like v1\.35\.2 .* got "1\.33"/);
    assert.throws(() => cfg("stdout-of-x-ready"), /exact kubeadm version/);
    assert.equal(parseKubeadmVersion("v1.35.2\n"), "v1.35.2");
  });

  test("a control plane without workers is not tainted (taints: []); with workers it keeps the default", () => {
    assert.deepEqual(cfg("v1.35.2", true)[0].nodeRegistration.taints, []);
    assert.ok(!("taints" in cfg("v1.35.2", false)[0].nodeRegistration), "unset = kubeadm's default taint");
  });

  test("join config: explicit node-ip, CA-pinned discovery", () => {
    const doc = parse(
      joinConfig({
        nodeName: "dev-worker1",
        nodeIp: "192.168.64.8",
        controlPlaneIp: "192.168.64.7",
        token: FAKE_TOKEN,
        caCertHash: FAKE_CA_HASH,
      }),
    );
    assert.deepEqual(doc, {
      apiVersion: "kubeadm.k8s.io/v1beta4",
      kind: "JoinConfiguration",
      nodeRegistration: {
        name: "dev-worker1",
        criSocket: "unix:///run/containerd/containerd.sock",
        kubeletExtraArgs: [{ name: "node-ip", value: "192.168.64.8" }],
      },
      discovery: {
        bootstrapToken: {
          apiServerEndpoint: "192.168.64.7:6443",
          token: FAKE_TOKEN,
          caCertHashes: [FAKE_CA_HASH],
        },
      },
      timeouts: { discovery: "5m0s", tlsBootstrap: "5m0s" },
    });
  });

  test("join token output is parsed strictly", () => {
    assert.deepEqual(parseJoinToken(`token ${FAKE_TOKEN}\ncaCertHash ${FAKE_CA_HASH}\n`), {
      token: FAKE_TOKEN,
      caCertHash: FAKE_CA_HASH,
    });
    assert.throws(() => parseJoinToken("token short\n"), /no token/);
  });
});

describe("admin kubeconfig rewrite (facts A.5)", () => {
  test("cluster, user and context are all tartlab-<cluster>; server is the control plane", () => {
    const out = parse(rewriteKubeconfig(FAKE_ADMIN_CONF, "dev", "https://192.168.64.7:6443"));
    assert.deepEqual(out.clusters, [
      {
        name: "tartlab-dev",
        cluster: { "certificate-authority-data": "Q0EK", server: "https://192.168.64.7:6443" },
      },
    ]);
    assert.deepEqual(out.users, [
      { name: "tartlab-dev", user: { "client-certificate-data": "Q0VSVAo=", "client-key-data": "S0VZCg==" } },
    ]);
    assert.deepEqual(out.contexts, [
      { name: "tartlab-dev", context: { cluster: "tartlab-dev", user: "tartlab-dev" } },
    ]);
    assert.equal(out["current-context"], "tartlab-dev");
  });
});

describe("clusters in the default lab", () => {
  let rec: Recorder;
  let outputs: any;
  before(async () => {
    ({ recorder: rec, outputs } = await sharedLab());
  });

  test("init runs on the control plane with the generated config for its IP", () => {
    const init = rec.byName("staging-init");
    assert.equal(unwrap(init.inputs.connection).host, fakeIp("staging-master"));
    const env = bundleEnv(init.inputs.stdin);
    assert.equal(env.LOGIN_USER, "admin");
    assert.equal(env.NODE_NAME, "staging-master");
    const docs = parseAllDocuments(env.KUBEADM_CONFIG).map((d) => d.toJSON());
    assert.equal(docs[0].localAPIEndpoint.advertiseAddress, fakeIp("staging-master"));
    assert.deepEqual(docs[0].nodeRegistration.kubeletExtraArgs, [
      { name: "node-ip", value: fakeIp("staging-master") },
    ]);
    assert.deepEqual(docs[1].networking, {
      podSubnet: "10.30.0.0/16",
      serviceSubnet: "10.98.0.0/16",
      dnsDomain: "cluster.local",
    });
    assert.deepEqual(docs[1].proxy, { disabled: true });
    assert.equal(docs[1].kubernetesVersion, FAKE_KUBEADM_VERSION);
    assert.ok(!("taints" in docs[0].nodeRegistration), "workers exist: default control-plane taint");
  });

  test("the exact version is read from the control plane's readiness step: a graph input of init", () => {
    const init = rec.byName("staging-init");
    assert.ok(
      init.propertyDependencies.stdin.includes("staging-master-ready"),
      init.propertyDependencies.stdin.join(),
    );
    assert.equal(bundleEnv(init.inputs.stdin).KUBERNETES_VERSION, FAKE_KUBEADM_VERSION);
    const join = rec.byName("staging-staging-worker1-join");
    assert.equal(bundleEnv(unwrap(join.inputs.stdin)).KUBERNETES_VERSION, FAKE_KUBEADM_VERSION);
    assert.ok(join.propertyDependencies.stdin.includes("staging-master-ready"));
  });

  test("no command gets its previous (secret) stdout back as environment variables", () => {
    for (const r of rec.registrations.filter((x) => x.type.startsWith("command:"))) {
      assert.equal(r.inputs.addPreviousOutputInEnv, false, r.name);
    }
  });

  test("kubeconfig and join-token commands never log stdout and mark it secret", () => {
    for (const name of [
      "platform-kubeconfig",
      "platform-platform-worker1-join-token",
      "dev-dev-worker1-join-token",
    ]) {
      const r = rec.byName(name);
      assert.equal(r.inputs.logging, "none", name);
      assert.deepEqual(
        [...r.options.additionalSecretOutputs].sort(),
        ["connection", "stderr", "stdout"],
        name,
      );
    }
  });

  test("the Mac gets each cluster's kubeconfig as a file (V10), secret and never logged", () => {
    const r = rec.byName("dev-host-kubeconfig");
    assert.equal(r.type, "command:local:Command");
    assert.equal(r.inputs.logging, "none");
    assert.ok(isSecretValue(r.inputs.stdin), "the bundle carries the kubeconfig: secret");
    const env = bundleEnv(unwrap(r.inputs.stdin));
    assert.equal(env.CLUSTER_NAME, "dev");
    assert.equal(parse(env.KUBECONFIG_CONTENT)["current-context"], "tartlab-dev");
    assert.equal(r.inputs.delete, "bash -s -- delete");
  });

  test("the join runs on the worker with a secret JoinConfiguration for its own IP", () => {
    const join = rec.byName("dev-dev-worker1-join");
    assert.equal(unwrap(join.inputs.connection).host, fakeIp("dev-worker1"));
    assert.ok(isSecretValue(join.inputs.stdin), "stdin carries the token: secret");
    assert.equal(join.inputs.logging, "stderr");
    assert.equal(bundleEnv(unwrap(join.inputs.stdin)).CA_CERT_HASH, FAKE_CA_HASH);
    assert.equal(bundleEnv(unwrap(join.inputs.stdin)).NODE_IP, fakeIp("dev-worker1"));
    assert.equal(bundleEnv(unwrap(join.inputs.stdin)).API_SERVER_ENDPOINT, `${fakeIp("dev-master")}:6443`);
    const doc = parse(bundleEnv(unwrap(join.inputs.stdin)).JOIN_CONFIG);
    assert.equal(doc.nodeRegistration.kubeletExtraArgs[0].value, fakeIp("dev-worker1"));
    assert.equal(doc.discovery.bootstrapToken.apiServerEndpoint, `${fakeIp("dev-master")}:6443`);
    assert.equal(doc.discovery.bootstrapToken.token, FAKE_TOKEN);
  });

  test("the network check runs on the worker against the control plane's API server (T03)", () => {
    const nc = rec.byName("platform-platform-worker2-netcheck");
    assert.equal(unwrap(nc.inputs.connection).host, fakeIp("platform-worker2"));
    assert.deepEqual(bundleEnv(nc.inputs.stdin), {
      API_SERVER: `${fakeIp("platform-master")}:6443`,
      NODE_NAME: "platform-worker2",
    });
  });

  test("removing a worker drains it from the control plane", () => {
    const m = rec.byName("platform-platform-worker1-member");
    assert.equal(unwrap(m.inputs.connection).host, fakeIp("platform-master"));
    assert.equal(m.inputs.delete, "sudo -n bash -s -- delete");
    assert.match(m.inputs.stdin, /kubectl drain "\$WORKER_NAME"/);
  });

  test("each cluster's provider gets its own secret kubeconfig", () => {
    for (const c of ["platform", "dev", "staging"]) {
      const p = rec.byName(`${c}-k8s`);
      assert.equal(p.type, "pulumi:providers:kubernetes");
      assert.ok(isSecretValue(p.inputs.kubeconfig), `${c} kubeconfig secret`);
      // The control plane VM's identity (its clone's id), not anything read over SSH: stays known through a resize.
      assert.equal(p.inputs.clusterIdentifier, `tartlab/${c}/${c}-master-clone-id`);
      assert.deepEqual(p.propertyDependencies.clusterIdentifier, [`${c}-master-clone`]);
      // A refresh with the VMs stopped keeps the objects; see the switch test below.
      assert.equal(p.inputs.deleteUnreachable, "false");
      const kc = parse(unwrap(p.inputs.kubeconfig));
      assert.equal(kc["current-context"], `tartlab-${c}`);
      assert.equal(kc.clusters[0].cluster.server, `https://${fakeIp(`${c}-master`)}:6443`);
    }
  });

  test("TARTLAB_FORGET_UNREACHABLE=1 (only for destroying a lab whose VMs are gone) turns deleteUnreachable on", async () => {
    process.env.TARTLAB_FORGET_UNREACHABLE = "1";
    try {
      const forget = (await runLab()).recorder;
      for (const c of ["platform", "dev", "staging"])
        assert.equal(forget.byName(`${c}-k8s`).inputs.deleteUnreachable, "true");
    } finally {
      delete process.env.TARTLAB_FORGET_UNREACHABLE;
    }
  });

  test("Cilium: pinned chart through the cluster's provider with the lab's values", () => {
    const rel = rec.byName("dev-cilium");
    assert.equal(rel.type, "kubernetes:helm.sh/v3:Release");
    assert.ok(rel.provider.includes("::dev-k8s::"), rel.provider);
    assert.equal(rel.inputs.chart, "cilium");
    assert.equal(rel.inputs.version, "1.19.8");
    assert.deepEqual(rel.inputs.repositoryOpts, { repo: "https://helm.cilium.io" });
    assert.equal(rel.inputs.namespace, "kube-system");
    assert.deepEqual(rel.inputs.values, {
      kubeProxyReplacement: "true",
      k8sServiceHost: fakeIp("dev-master"),
      k8sServicePort: 6443,
      ipam: {
        mode: "cluster-pool",
        operator: { clusterPoolIPv4PodCIDRList: ["10.20.0.0/16"], clusterPoolIPv4MaskSize: 24 },
      },
      cluster: { name: "dev", id: 191 },
      routingMode: "tunnel",
      tunnelProtocol: "vxlan",
      operator: { replicas: 1 },
    });
  });

  test("cluster ids and names are unique across the lab (ClusterMesh stays possible)", () => {
    const ids = ["platform", "dev", "staging"].map((c) => rec.byName(`${c}-cilium`).inputs.values.cluster);
    assert.deepEqual(ids, [
      { name: "platform", id: 52 },
      { name: "dev", id: 191 },
      { name: "staging", id: 254 },
    ]);
    assert.equal(
      ciliumValues(
        {
          name: "x",
          id: 9,
          podCidr: "10.9.0.0/16",
          serviceCidr: "10.99.0.0/16",
          nodes: [],
          kubernetesVersion: "1.35",
          kubernetesVersionKey: "tartlab:kubernetesVersion",
        },
        "1.2.3.4",
      ).cluster.id,
      9,
    );
  });

  test("the nodes-Ready gate waits for every node by name", () => {
    const g = rec.byName("platform-nodes-ready");
    assert.deepEqual(bundleEnv(g.inputs.stdin), {
      CLUSTER_NAME: "platform",
      EXPECTED_NODES: "platform-master platform-worker1 platform-worker2",
      // Each VM's size and run options: a restart for a change of them runs the gate again.
      VM_RUNS: ["platform-master", "platform-worker1", "platform-worker2"]
        .map((vm) => `${vm} cpus=2 memoryMb=4096 diskGb=30 softnetAllow=0.0.0.0/0`)
        .join("\n"),
    });
  });

  test("stack outputs: kubeconfigs are secret, API servers and node IPs plain", async () => {
    const { inspect } = await import("./harness/outputs");
    const kc = await inspect(outputs.kubeconfigs.dev);
    assert.equal(kc.isSecret, true);
    const api = await inspect(outputs.apiServers.dev);
    assert.equal(api.value, `https://${fakeIp("dev-master")}:6443`);
    assert.equal(api.isSecret, false);
  });
});

describe("a one-node cluster (no workers)", () => {
  test("passes validation and its control plane is untainted, so workloads can schedule", async () => {
    const { recorder } = await runLab(soloStackConfig());
    const docs = parseAllDocuments(bundleEnv(recorder.byName("solo-init").inputs.stdin).KUBEADM_CONFIG).map(
      (d) => d.toJSON(),
    );
    assert.deepEqual(docs[0].nodeRegistration.taints, []);
    assert.ok(!recorder.registrations.some((r) => r.name.endsWith("-join")), "nothing to join");
  });
});
