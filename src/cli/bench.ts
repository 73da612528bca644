// `catena bench`: measure append throughput and latency against a cluster, or a local one.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runLoad, type LoadMode, type LoadResult } from "../bench/load.ts";
import { isSyncPolicy, SYNC_POLICIES } from "../chain/sync-policy.ts";
import { UsageError, boolFlag, intFlag, stringFlag, type Parsed } from "./args.ts";
import { startLocalCluster, type LocalCluster } from "./cluster-runner.ts";
import { clientOptions } from "./common.ts";
import { stdout } from "./output.ts";

export async function runBench(p: Parsed): Promise<number> {
  const json = boolFlag(p, "json");
  const sync = stringFlag(p, "sync") ?? "always";
  const mode = stringFlag(p, "mode") ?? "append";
  if (!["append", "read", "mixed", "subscribe"].includes(mode)) throw new UsageError(`bench: --mode must be append, read, mixed or subscribe, got "${mode}"`);
  if (!isSyncPolicy(sync)) throw new UsageError(`bench: --sync must be one of ${SYNC_POLICIES.join(", ")}, got "${sync}"`);
  let cluster: LocalCluster | null = null;
  let dir: string | null = null;
  let security: { token?: string; ca?: string } = {};
  let master: string;
  if (boolFlag(p, "local")) {
    dir = mkdtempSync(join(tmpdir(), "catena-bench-"));
    // --secure DIR: TLS and tokens everywhere, from a directory made by scripts/dev-certs.sh.
    const secureDir = stringFlag(p, "secure");
    if (secureDir) {
      const read = (name: string) => {
        try {
          return readFileSync(join(secureDir, name), "utf8");
        } catch {
          throw new UsageError(`bench: --secure ${secureDir} has no ${name}; make the directory with scripts/dev-certs.sh DIR master head middle tail`);
        }
      };
      security = { token: read("client.token").trim(), ca: read("ca.crt") };
    }
    if (!json) console.error(`starting a local master and 3 nodes (sync = "${sync}"${secureDir ? ", TLS and tokens" : ""}) in ${dir}`);
    cluster = await startLocalCluster({ dir, sync, secureDir: secureDir ? resolve(secureDir) : undefined });
    master = cluster.masterUrl;
    // Interrupted, it still stops the processes it started and removes their directory.
    const local = cluster;
    const localDir = dir;
    const interrupted = async () => {
      await local.stop();
      rmSync(localDir, { recursive: true, force: true });
      process.exit(130);
    };
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
  } else {
    const options = clientOptions(p, "bench");
    master = options.master;
    security = { token: options.token, ca: options.ca };
  }
  const tty = Boolean(process.stderr.isTTY) && !json;
  try {
    const result = await runLoad({
      master,
      ...security,
      mode: mode as LoadMode,
      clients: intFlag(p, "clients", "bench", 1, 1),
      inflight: intFlag(p, "inflight", "bench", 1, 1),
      sizeBytes: intFlag(p, "size", "bench", 100, 0),
      durationS: intFlag(p, "duration", "bench", 10, 1),
      warmupS: intFlag(p, "warmup", "bench", 2, 0),
      progress: json ? undefined : (t, rate) => {
        const bar = "#".repeat(Math.min(40, Math.round(rate / 10_000)));
        process.stderr.write(`${tty ? "\r\x1b[K" : ""}${t.toFixed(0).padStart(4)} s  ${String(rate).padStart(8)} ops/s  ${bar}${tty ? "" : "\n"}`);
      },
    });
    if (tty) process.stderr.write("\n");
    await stdout.line(json ? JSON.stringify({ sync: cluster ? sync : undefined, ...result }) : formatResult(result));
    return result.errors > 0 && result.appends + result.reads + result.delivered === 0 ? 1 : 0;
  } finally {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function formatResult(r: LoadResult): string {
  const line = (name: string, l: LoadResult["latencyMs"]) => `${name} p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`;
  const out = [`${r.mode}: ${r.clients} clients x ${r.inflight} in flight, ${r.sizeBytes} B payloads, ${r.durationS} s`];
  if (r.mode !== "read") out.push(`appends/s  ${r.appendsPerS}`, `MB/s       ${r.mbPerS}`);
  if (r.mode === "read" || r.mode === "mixed") out.push(`reads/s    ${r.readsPerS}`);
  if (r.mode === "subscribe") out.push(`delivered/s ${r.deliveredPerS} (all subscribers)`);
  const first = r.mode === "read" ? "read latency ms    " : r.mode === "subscribe" ? "delivery latency ms" : "append latency ms  ";
  out.push(line(first, r.latencyMs));
  if (r.readLatencyMs) out.push(line("read latency ms    ", r.readLatencyMs));
  out.push(`errors     ${r.errors}${r.firstError ? ` (first: ${r.firstError})` : ""}`);
  return out.join("\n");
}
