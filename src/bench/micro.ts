// npm run bench:micro — every mitata micro-benchmark, then the medians.

import { run } from "mitata";
import "./codec.micro.ts";
import { cleanupLogBench } from "./log.micro.ts";
import { cleanupNodePathBench } from "./node-path.micro.ts";

const { benchmarks } = await run();
console.log("\nmedians (p50):");
for (const trial of benchmarks) {
  for (const result of trial.runs) if (result.stats) console.log(`  ${result.name.padEnd(56)} ${formatNs(result.stats.p50)}`);
}
await cleanupLogBench();
await cleanupNodePathBench();

function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}
