// A subscription follows the chain when its tail is paused (SIGSTOP): the paused tail sends
// nothing, not even an error, so the client must notice the new layout by itself. Every committed
// entry is delivered once, in order, across the change.

import { expect, test } from "bun:test";
import { CatenaClient } from "../../src/client/client.ts";
import { waitForCluster } from "../helpers/checks.ts";
import { startTestCluster } from "../helpers/cluster.ts";

test("a subscriber on a paused tail moves to the new tail and misses nothing", async () => {
  const cluster = await startTestCluster();
  const writer = await CatenaClient.connect({ master: cluster.masterUrl, requestTimeoutMs: 20_000 });
  const reader = await CatenaClient.connect({ master: cluster.masterUrl, requestTimeoutMs: 20_000 });
  const delivered: number[] = [];
  const errors: Error[] = [];
  const sub = reader.subscribe(0, (entries) => delivered.push(...entries.map((e) => e.offset)), (e) => errors.push(e));
  try {
    const acked: number[] = [];
    for (let i = 0; i < 20; i++) acked.push(...(await writer.appendMany(Array.from({ length: 10 }, (_, k) => `before-${i}-${k}`))));
    cluster.processes.find((p) => p.name === "tail")!.proc.kill("SIGSTOP");
    await waitForCluster(cluster, (d) => !d.chains[0].members.includes("tail"), 10_000, "the paused tail was not removed");
    for (let i = 0; i < 20; i++) acked.push(...(await writer.appendMany(Array.from({ length: 10 }, (_, k) => `after-${i}-${k}`))));
    const last = Math.max(...acked);
    const deadline = Date.now() + 15_000;
    while (!delivered.includes(last) && Date.now() < deadline) await Bun.sleep(50);
    expect(errors).toEqual([]);
    expect(delivered).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
  } finally {
    sub.close();
    writer.close();
    reader.close();
    const tail = cluster.processes.find((p) => p.name === "tail");
    tail?.proc.kill("SIGCONT");
    await cluster.cleanup();
  }
}, 60_000);
