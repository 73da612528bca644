// npm run chaos -- --duration SECONDS --seed N [--sync always|interval|none] [--sync-interval MS]
//   [--nodes N] [--dir DIR] [--clean]
//   [--binary PATH] (default dist/catena; point it at a copy to rebuild while a long run goes on)
//   [--faults kill,pause,partition,delay,reset,power-loss,power-loss-all,bitflip] (default: all)
// Runs one seeded chaos run against dist/catena (build it first: npm run build) and prints the
// verdict. Exit status 0 when every property held, 1 otherwise; the run's directory is kept
// either way (pass --clean to remove it after a passing run).

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { describeReport, runChaos } from "./chaos.ts";
import { stopAllClusters, type SyncPolicy } from "./cluster.ts";
import type { Fault } from "./schedule.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: "string", default: "60" },
    seed: { type: "string" },
    sync: { type: "string", default: "always" },
    "sync-interval": { type: "string", default: "5" },
    nodes: { type: "string", default: "4" },
    dir: { type: "string" },
    clean: { type: "boolean", default: false },
    binary: { type: "string" },
    faults: { type: "string" },
  },
});

const KINDS: Fault["kind"][] = ["kill", "pause", "partition", "delay", "reset", "power-loss", "power-loss-all", "bitflip"];
const seed = values.seed === undefined ? Math.floor(Math.random() * 1e9) : Number(values.seed);
const sync = values.sync as SyncPolicy;
const kinds = values.faults?.split(",") as Fault["kind"][] | undefined;
if (!Number.isSafeInteger(seed) || !["always", "interval", "none"].includes(sync) || kinds?.some((k) => !KINDS.includes(k)) || !(Number(values.duration) > 0)) {
  console.error(`usage: npm run chaos -- --duration SECONDS --seed N [--sync always|interval|none] [--sync-interval MS] [--nodes N] [--dir DIR] [--clean] [--binary PATH] [--faults ${KINDS.join(",")}]`);
  process.exit(2);
}
// Interrupted: stop the cluster's processes rather than leave them running.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void stopAllClusters().finally(() => process.exit(130)));
}

const dir = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), `catena-chaos-${seed}-`));
const report = await runChaos({
  seed,
  durationS: Number(values.duration),
  dir,
  binary: values.binary ? resolve(values.binary) : resolve(import.meta.dir, "../../dist/catena"),
  nodes: Number(values.nodes),
  sync,
  syncIntervalMs: Number(values["sync-interval"]),
  cleanPass: values.clean,
  kinds,
});
console.log(describeReport(report));
process.exit(report.passed ? 0 : 1);
