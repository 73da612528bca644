// How fast a new node catches up: fills a 3-node chain (replication factor 4) with N MiB of
// 64 KiB entries, then starts a fourth node and times it from start to becoming the tail.
// Usage: npm run build && bun scripts/catchup.ts [MiB]   (default 512)

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalCluster } from "../src/cli/cluster-runner.ts";
import { CatenaClient, fetchCluster } from "../src/client/client.ts";
const DIR = mkdtempSync(join(tmpdir(), "catena-catchup-"));
const cluster = await startLocalCluster({ dir: DIR, command: [new URL("../dist/catena", import.meta.url).pathname], nodes: 3, replicationFactor: 4 });
try {
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  const payload = new Uint8Array(64 * 1024).fill(7);
  const target = Number(process.argv[2] ?? 512) << 20;
  let bytes = 0;
  const t0 = performance.now();
  const inflight: Promise<unknown>[] = [];
  while (bytes < target) {
    inflight.push(client.appendMany(Array.from({ length: 8 }, () => payload)));
    bytes += 8 * payload.length;
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  console.log(`filled ${(bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const doc = await fetchCluster(cluster.masterUrl);
  const end = doc.nodes.find((n) => n.id === "tail")!.logEnd;
  const started = performance.now();
  cluster.addNode("fourth");
  for (;;) {
    const d = await fetchCluster(cluster.masterUrl);
    if (d.chains[0].members.includes("fourth")) break;
    await Bun.sleep(20);
  }
  const s = (performance.now() - started) / 1000;
  console.log(`fourth node: joined, synced ${end} entries (${(bytes / 1e6).toFixed(0)} MB) and became tail in ${s.toFixed(2)} s = ${(bytes / 1e6 / s).toFixed(0)} MB/s (including process start and join)`);
  client.close();
} finally {
  await cluster.stop();
  (await import("node:fs")).rmSync(DIR, { recursive: true, force: true });
}
