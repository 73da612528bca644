// More faults against the compiled binary: a paused tail past its lease serves no stale read; the
// master killed during a reconfiguration resumes it; a fourth node joins a chain under load.

import { expect, test } from "bun:test";
import { CatenaClient } from "../../src/client/client.ts";
import { NodeConnection } from "../../src/client/node-connection.ts";
import { CatenaError, ErrorCode } from "../../src/protocol/errors.ts";
import { decodeEntries, encodeRead } from "../../src/protocol/messages.ts";
import { iterateRecords } from "../../src/protocol/record.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { moreAcked, startLoad } from "../helpers/load.ts";
import { checkLogs, waitForCluster } from "../helpers/checks.ts";

test("SIGSTOP the tail past its lease: once it resumes it serves no stale read", async () => {
  const cluster = await startTestCluster();
  try {
    const client = await CatenaClient.connect({ master: cluster.masterUrl });
    for (let i = 0; i < 20; i++) await client.append(`before-${i}`);
    let doc = await waitForCluster(cluster, () => true, 1000, "");
    const oldTailAddr = doc.nodes.find((n) => n.id === "tail")!.clientAddr;
    const oldTail = new NodeConnection(oldTailAddr, 5000);
    await oldTail.open();

    const tailPid = cluster.processes.find((p) => p.name === "tail")!.proc.pid;
    process.kill(tailPid, "SIGSTOP");
    try {
      doc = await waitForCluster(cluster, (d) => d.chains[0].tail === "middle", 5000, "the middle did not become the tail");
      const after = await client.append("after-failover");
      expect(after).toBe(20);
    } finally {
      process.kill(tailPid, "SIGCONT");
    }
    // The resumed old tail still believes it is the tail until it hears from the master; its lease
    // has run out, so it must refuse, never answer without the entry acknowledged meanwhile.
    const reply = await oldTail.request((id) => encodeRead(id, { chainId: 1, from: 0, maxEntries: 1000, maxBytes: 1 << 20 })).then(
      (frame) => ({ entries: [...iterateRecords(decodeEntries(frame).records)].length }),
      (e: CatenaError) => ({ error: e }),
    );
    if ("entries" in reply) expect(reply.entries).toBe(21);
    else expect([ErrorCode.notServing, ErrorCode.unavailable] as number[]).toContain(reply.error.code);
    oldTail.close();
    const page = await client.read(0, { maxEntries: 100 });
    expect(page.entries.length).toBe(21);
    client.close();
  } finally {
    await cluster.cleanup();
  }
});

test("kill -9 the master during a reconfiguration; restarted, it resumes the same chain and epoch", async () => {
  const cluster = await startTestCluster();
  try {
    const load = await startLoad(cluster.masterUrl, 4, 8);
    await moreAcked(load, 200, "the load did not start");
    const before = await waitForCluster(cluster, () => true, 1000, "");
    await cluster.signal("middle", "SIGKILL");
    const during = await waitForCluster(cluster, (d) => d.chains[0].epoch > before.chains[0].epoch, 5000, "no reconfiguration");
    await cluster.signal("master", "SIGKILL");
    cluster.restart("master");
    const after = await waitForCluster(cluster, (d) => d.nodes.filter((n) => n.state === "serving").length === 2, 10_000, "the restarted master did not see the survivors");
    expect(after.chains[0].epoch).toBeGreaterThanOrEqual(during.chains[0].epoch);
    expect(after.chains[0].members).toEqual(["head", "tail"]);
    await moreAcked(load, 200, "appends did not go on under the restarted master");
    await load.stop();
    expect(load.records.filter((r) => r.error).length).toBe(0);
    await waitForCluster(cluster, (d) => ["head", "tail"].every((id) => {
      const n = d.nodes.find((x) => x.id === id)!;
      return n.logEnd === n.commitEnd;
    }), 10_000, "the chain did not settle");
    for (const n of ["head", "tail"]) await cluster.signal(n, "SIGTERM");
    await checkLogs(cluster, ["head", "tail"], load.records);
  } finally {
    await cluster.cleanup();
  }
});

test("a fourth node joins a running chain under load: it syncs, then becomes the tail", async () => {
  const cluster = await startTestCluster({ replicationFactor: 4, nodes: 3 });
  try {
    const load = await startLoad(cluster.masterUrl, 4, 8);
    await moreAcked(load, 500, "the load did not start");
    cluster.addNode("fourth");
    const doc = await waitForCluster(cluster, (d) => d.chains[0].members.length === 4, 20_000, "the fourth node did not become a member");
    expect(doc.chains[0].members).toEqual(["head", "middle", "tail", "fourth"]);
    expect(doc.events.some((e) => e.kind === "syncing")).toBe(true);
    await moreAcked(load, 200, "appends did not go on through the four-node chain");
    await load.stop();
    expect(load.records.filter((r) => r.error).length).toBe(0);
    const all = ["head", "middle", "tail", "fourth"];
    await waitForCluster(cluster, (d) => all.every((id) => {
      const n = d.nodes.find((x) => x.id === id)!;
      return n.logEnd === n.commitEnd;
    }) && new Set(all.map((id) => d.nodes.find((x) => x.id === id)!.logEnd)).size === 1, 10_000, "the chain did not settle");
    for (const n of all) await cluster.signal(n, "SIGTERM");
    await checkLogs(cluster, all, load.records);
  } finally {
    await cluster.cleanup();
  }
});
