// Resident memory of the nodes under a long load: starts a master and 3 nodes (sync "always"), runs
// `catena bench -c C -r R --duration S` against them, reads each node's VmRSS every 10 s, and prints
// min, max and the medians of the first and last fifth of the samples per node.
// Usage: npm run build && bun scripts/memory.ts [seconds = 600] [clients = 2] [inflight = 50]

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalCluster } from "../src/cli/cluster-runner.ts";

const seconds = Number(process.argv[2] ?? 600);
const clients = process.argv[3] ?? "2";
const inflight = process.argv[4] ?? "50";
const SAMPLE_MS = 10_000;
const binary = new URL("../dist/catena", import.meta.url).pathname;

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = mkdtempSync(join(tmpdir(), "catena-memory-"));
const cluster = await startLocalCluster({ dir, command: [binary], nodes: 3 });
try {
  const nodes = cluster.processes.filter((p) => p.name !== "master");
  const samples = new Map<string, number[]>(nodes.map((p) => [p.name, []]));
  const sample = (): void => {
    for (const p of nodes) {
      const mb = rssMb(p.proc.pid);
      if (mb !== null) samples.get(p.name)!.push(mb);
    }
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  const bench = Bun.spawn([binary, "bench", "--master", cluster.masterUrl, "-c", clients, "-r", inflight, "--size", "100", "--duration", String(seconds), "--json"], {
    stdout: "pipe",
    stderr: "ignore",
  });
  const result = JSON.parse(await new Response(bench.stdout).text());
  clearInterval(timer);
  sample();
  console.log(`${result.appends} appends in ${seconds} s (${result.appendsPerS}/s), ${result.errors} errors; p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`);
  console.log("| node | samples | min MB | max MB | median, first fifth | median, last fifth |");
  console.log("|---|--:|--:|--:|--:|--:|");
  for (const [name, xs] of samples) {
    const fifth = Math.max(1, Math.floor(xs.length / 5));
    const f = (x: number) => x.toFixed(0);
    console.log(`| ${name} | ${xs.length} | ${f(Math.min(...xs))} | ${f(Math.max(...xs))} | ${f(median(xs.slice(0, fifth)))} | ${f(median(xs.slice(-fifth)))} |`);
  }
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
