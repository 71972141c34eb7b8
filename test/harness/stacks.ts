/** Lab configs the Mac-side tests share, as raw stack config (the keys without `tartlab:`). */

/** One cluster of a control plane and a worker, no Jenkins: the smallest lab that starts, stops and snapshots. */
export const DEV_PAIR = {
  clusters: [
    {
      name: "dev",
      podCidr: "10.20.0.0/16",
      serviceCidr: "10.97.0.0/16",
      nodes: [
        { name: "dev-master", role: "control-plane", cpus: 2, memoryMb: 4096, diskGb: 25 },
        { name: "dev-worker1", role: "worker", cpus: 2, memoryMb: 4096, diskGb: 25 },
      ],
    },
  ],
  jenkins: { enabled: false },
};
