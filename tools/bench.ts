/**
 * `npm run bench [-- --sizes 7,30,90 --runs 5 --process-runs 3 --json]`: what a first `pulumi preview` costs
 * before the engine runs, as the median of in-process and whole-process evaluations per lab size; nothing is
 * asserted, since the figures depend on the machine (docs/performance.md records them with it).
 */
import { spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import * as path from "node:path";
import { devStackConfig, pulumiPromiseStacks, runLab } from "./lab-mocks";

// A benchmark measures Pulumi with the per-promise stacks the test harness drops.
pulumiPromiseStacks(true);

/** The default lab for 7, else ceil(vms/3) clusters of up to 3 nodes. */
export function benchConfig(vms: number): Record<string, unknown> {
  const dev = devStackConfig();
  if (vms === 7) return dev;
  const clusters = [];
  for (let i = 0, left = vms; left > 0; i++) {
    const size = Math.min(3, left);
    left -= size;
    const name = `c${i + 1}`;
    clusters.push({
      name,
      id: i + 1, // explicit: name hashes of many clusters may collide (lib/lab-config.ts clusterIdFromName)
      podCidr: `10.${10 + i}.0.0/16`,
      serviceCidr: `10.${150 + i}.0.0/16`,
      nodes: Array.from({ length: size }, (_, n) => ({
        name: n === 0 ? `${name}-master` : `${name}-worker${n}`,
        role: n === 0 ? "control-plane" : "worker",
        cpus: 2,
        memoryMb: 4096,
        diskGb: 25,
      })),
    });
  }
  if (clusters.length > 90) throw new Error(`${vms} VMs need more /16 ranges than this benchmark hands out`);
  return {
    ...dev,
    "tartlab:clusters": clusters,
    "tartlab:jenkins": { enabled: true, cluster: "c1", nodePort: 32080 },
  };
}

export async function evaluate(vms: number): Promise<{ seconds: number; resources: number }> {
  const t0 = process.hrtime.bigint();
  const { recorder } = await runLab(benchConfig(vms), { preview: true, hostFacts: undefined });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, resources: recorder.registrations.length };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface BenchRow {
  readonly vms: number;
  readonly resources: number;
  /** After one warm-up run. */
  readonly evaluation: number;
  /** Undefined when not measured. */
  readonly process?: number;
}

function wholeProcess(vms: number): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "--once", String(vms)], {
    cwd: path.join(__dirname, ".."),
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`benchmark process for ${vms} VMs failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function bench(sizes: number[], runs: number, processRuns: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const vms of sizes) {
    const first = await evaluate(vms); // warm-up: module loading and JIT are not the evaluation
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await evaluate(vms)).seconds);
    const proc: number[] = [];
    for (let i = 0; i < processRuns; i++) proc.push(wholeProcess(vms));
    rows.push({
      vms,
      resources: first.resources,
      evaluation: median(times),
      process: proc.length ? median(proc) : undefined,
    });
  }
  return rows;
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

async function main() {
  const once = process.argv.indexOf("--once");
  if (once > 0) {
    await evaluate(Number(process.argv[once + 1]));
    return;
  }
  const sizes = arg("--sizes", "7,30,90").split(",").map(Number);
  const runs = Number(arg("--runs", "5"));
  const processRuns = Number(arg("--process-runs", "3"));
  const rows = await bench(sizes, runs, processRuns);
  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}`;
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ machine, runs, processRuns, rows }, null, 2));
    return;
  }
  console.log(`Offline evaluation (first preview under mocks), median of ${runs} runs; ${machine}`);
  console.log("VMs  resources  evaluation  whole process");
  for (const r of rows) {
    console.log(
      `${String(r.vms).padStart(3)}  ${String(r.resources).padStart(9)}  ${r.evaluation.toFixed(2).padStart(8)} s  ` +
        `${r.process === undefined ? "-" : `${r.process.toFixed(2)} s`}`,
    );
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
