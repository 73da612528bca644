// A request of several entries cut short by a power loss before it was acknowledged: the nodes
// kept only its first entries. The client retries it (same clientId, same request ids); the head
// must answer for the entries it holds and write the rest again — not answer for all of them at
// offsets that hold nothing (or another client's entries). Found by the chaos checker (seed 1005).

import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { CatenaClient } from "../../src/client/client.ts";
import { Log } from "../../src/log/log.ts";
import { waitForCluster } from "../helpers/checks.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { readNodeLog } from "../helpers/log-files.ts";

const NODES = ["head", "middle", "tail"];

test("a retried request whose last entries a power loss removed gets them written again, at their own offsets", async () => {
  const cluster = await startTestCluster({ sync: "interval" });
  try {
    const values = ["torn-a", "torn-b", "torn-c", "torn-d"];
    const first = await CatenaClient.connect({ master: cluster.masterUrl, clientId: 4242 });
    const before = await first.appendMany(values);
    first.close();
    const o = before[0];
    expect(before).toEqual([o, o + 1, o + 2, o + 3]);
    // Every node stops, and comes back with the request cut after its second entry, as a power
    // loss of every node can leave it under sync = "interval" (the entries were acknowledged here,
    // but what counts is that the nodes hold a prefix of the request and agree on it).
    for (const n of [...NODES].reverse()) await cluster.signal(n, "SIGTERM");
    for (const n of NODES) {
      const dir = join(cluster.dir, n, "chain-1");
      const log = await Log.open({ dir, segmentBytes: 64 << 20, indexIntervalBytes: 4096, recordBytesMax: 1048608, sync: "none", syncIntervalMs: 5 });
      await log.truncateFrom(o + 2);
      await log.close();
      rmSync(join(dir, "commit-end"), { force: true }); // it recorded o + 4
    }
    for (const n of NODES) cluster.restart(n);
    await waitForCluster(cluster, (d) => d.nodes.every((n) => n.state === "serving" && n.logEnd === o + 2 && n.commitEnd === o + 2), 15_000, "the chain did not come back");
    // Another client appends first, so the offsets after the cut are taken by someone else.
    const other = await CatenaClient.connect({ master: cluster.masterUrl });
    const otherOffset = await other.append("someone else");
    expect(otherOffset).toBe(o + 2);
    // The retry: a client with the same id sends the same request (ids 1..4) again.
    const retry = await CatenaClient.connect({ master: cluster.masterUrl, clientId: 4242 });
    const after = await retry.appendMany(values);
    expect(after.slice(0, 2)).toEqual([o, o + 1]);
    expect(after[2]).toBeGreaterThan(otherOffset);
    expect(after[3]).toBe(after[2] + 1);
    const read = async (offset: number) => new TextDecoder().decode((await retry.read(offset, { maxEntries: 1 })).entries[0].payload);
    for (let i = 0; i < 4; i++) expect(await read(after[i])).toBe(values[i]);
    expect(await read(otherOffset)).toBe("someone else");
    // Retried again, nothing more is written: the head now holds every entry.
    const again = await CatenaClient.connect({ master: cluster.masterUrl, clientId: 4242 });
    expect(await again.appendMany(values)).toEqual(after);
    for (const c of [other, retry, again]) c.close();
    for (const n of [...NODES].reverse()) await cluster.signal(n, "SIGTERM");
    for (const n of NODES) {
      const log = await readNodeLog(join(cluster.dir, n));
      expect(log.filter((e) => e.payload.startsWith("torn-")).map((e) => e.payload)).toEqual(values);
    }
  } finally {
    await cluster.cleanup();
  }
}, 90_000);
