// `catena bench`: measure append throughput and latency against a cluster, or a local one.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLoad, type LoadResult } from "../bench/load.ts";
import { UsageError, boolFlag, intFlag, stringFlag, type Parsed } from "./args.ts";
import { startLocalCluster, type LocalCluster } from "./cluster-runner.ts";
import { masterUrl } from "./common.ts";

export async function runBench(p: Parsed): Promise<number> {
  const json = boolFlag(p, "json");
  const sync = stringFlag(p, "sync") ?? "always";
  if (!["always", "interval", "none"].includes(sync)) throw new UsageError(`bench: --sync must be always, interval or none, got "${sync}"`);
  let cluster: LocalCluster | null = null;
  let dir: string | null = null;
  let master: string;
  if (boolFlag(p, "local")) {
    dir = mkdtempSync(join(tmpdir(), "catena-bench-"));
    if (!json) console.error(`starting a local master and 3 nodes (sync = "${sync}") in ${dir}`);
    cluster = await startLocalCluster({ dir, sync: sync as "always" });
    master = cluster.masterUrl;
  } else {
    master = masterUrl(p, "bench");
  }
  const tty = Boolean(process.stderr.isTTY) && !json;
  try {
    const result = await runLoad({
      master,
      clients: intFlag(p, "clients", "bench", 1, 1),
      inflight: intFlag(p, "inflight", "bench", 1, 1),
      sizeBytes: intFlag(p, "size", "bench", 100, 0),
      durationS: intFlag(p, "duration", "bench", 10, 1),
      warmupS: intFlag(p, "warmup", "bench", 2, 0),
      progress: json ? undefined : (t, rate) => {
        const bar = "#".repeat(Math.min(40, Math.round(rate / 10_000)));
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}${t.toFixed(0).padStart(4)} s  ${String(rate).padStart(8)} appends/s  ${bar}${tty ? "" : "\n"}`);
      },
    });
    if (tty) process.stderr.write("\n");
    console.log(json ? JSON.stringify({ sync: cluster ? sync : undefined, ...result }) : formatResult(result));
    return result.errors > 0 && result.appends === 0 ? 1 : 0;
  } finally {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function formatResult(r: LoadResult): string {
  const l = r.latencyMs;
  return [
    `${r.clients} clients x ${r.inflight} in flight, ${r.sizeBytes} B payloads, ${r.durationS} s`,
    `appends/s  ${r.appendsPerS}`,
    `MB/s       ${r.mbPerS}`,
    `latency ms p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`,
    `errors     ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ""}`,
  ].join("\n");
}
