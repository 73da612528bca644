// Checks shared by the fault tests: wait for a cluster state, compare the nodes' logs with what
// was acknowledged.

import { expect } from "bun:test";
import { join } from "node:path";
import { fetchCluster, type ClusterDocument } from "../../src/client/client.ts";
import type { startTestCluster } from "./cluster.ts";
import type { AppendRecord } from "./load.ts";
import { readNodeLog } from "./log-files.ts";

export type Cluster = Awaited<ReturnType<typeof startTestCluster>>;

export async function waitForCluster(cluster: Cluster, check: (doc: ClusterDocument) => boolean, timeoutMs: number, what: string): Promise<ClusterDocument> {
  const deadline = Date.now() + timeoutMs;
  let last: ClusterDocument | null = null;
  while (Date.now() < deadline) {
    last = await fetchCluster(cluster.masterUrl).catch(() => null);
    if (last && check(last)) return last;
    await Bun.sleep(50);
  }
  throw new Error(`${what} within ${timeoutMs} ms; last view: ${JSON.stringify(last?.chains)}`);
}

/** Every acknowledged append appears exactly once, at its offset, in every given node's log. */
export async function checkLogs(cluster: Cluster, nodes: string[], records: AppendRecord[]): Promise<void> {
  const acked = records.filter((r) => r.offset !== null);
  expect(acked.length).toBeGreaterThan(0);
  const logs = await Promise.all(nodes.map((n) => readNodeLog(join(cluster.dir, n))));
  for (const [i, entries] of logs.entries()) {
    const byValue = new Map<string, number[]>();
    for (const e of entries) byValue.set(e.payload, [...(byValue.get(e.payload) ?? []), e.offset]);
    for (const r of acked) {
      const where = byValue.get(r.value);
      if (!where || where.length !== 1 || where[0] !== r.offset) {
        throw new Error(`node ${nodes[i]}: acknowledged ${r.value} at ${r.offset}, log has it at ${JSON.stringify(where ?? [])}`);
      }
    }
    // Nothing is written twice, acknowledged or not.
    for (const [value, offsets] of byValue) if (offsets.length > 1) throw new Error(`node ${nodes[i]}: ${value} written ${offsets.length} times`);
  }
  const [first, ...rest] = logs;
  for (const other of rest) expect(other.map((e) => e.payload)).toEqual(first.map((e) => e.payload));
}

