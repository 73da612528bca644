// Membership faults with the compiled binary: the last serving node is never replaced by a replica
// that may lack committed entries; a node whose log holds entries the chain does not have is
// repaired as it syncs back in; a node id reused at another address is refused; the master streams
// its events over SSE.

import { expect, test } from "bun:test";
import { join } from "node:path";
import { CatenaClient } from "../../src/client/client.ts";
import { Log } from "../../src/log/log.ts";
import { dataView, encodeRecordInto } from "../../src/protocol/record.ts";
import { waitForCluster } from "../helpers/checks.ts";
import { runCli, startTestCluster } from "../helpers/cluster.ts";
import { readNodeLog } from "../helpers/log-files.ts";

test("when the last serving node fails the chain waits for it, says why, and resumes when it returns", async () => {
  const cluster = await startTestCluster();
  try {
    const client = await CatenaClient.connect({ master: cluster.masterUrl, requestTimeoutMs: 20_000 });
    for (let i = 0; i < 10; i++) await client.append(`v${i}`);
    await cluster.signal("tail", "SIGKILL");
    await cluster.signal("middle", "SIGKILL");
    await waitForCluster(cluster, (d) => d.chains[0].members.length === 1, 5000, "the chain did not shrink to the head");
    await cluster.signal("head", "SIGKILL");
    const waiting = await waitForCluster(cluster, (d) => d.chains[0].waitingFor === "head", 5000, "the chain is not waiting for its last serving node");
    expect(waiting.chains[0].members).toEqual(["head"]);
    // A node that comes back meanwhile is not promoted in the head's place.
    cluster.restart("middle");
    await waitForCluster(cluster, (d) => d.nodes.find((n) => n.id === "middle")!.state === "standby", 5000, "middle did not come back as a standby");
    // Not "nothing happened for a while": the master has handled three more heartbeats from the
    // standby middle, and its failure detector ticks twice per heartbeat period, each heartbeat
    // and tick a step that would have put the middle in the chain. The chain stays put throughout.
    const heartbeats = new Set<string>();
    await waitForCluster(cluster, (d) => {
      expect(d.chains[0].members).toEqual(["head"]);
      expect(d.chains[0].syncing).toBeNull();
      const middle = d.nodes.find((n) => n.id === "middle")!;
      expect(middle.state).toBe("standby");
      if (middle.lastHeartbeat) heartbeats.add(middle.lastHeartbeat);
      return heartbeats.size >= 4;
    }, 10_000, "the master did not hear from the standby middle three more times");
    const status = await runCli(["status"], { env: { CATENA_MASTER: cluster.masterUrl } });
    expect(status.stdout).toContain("waiting for head, its last serving node");

    const pending = client.append("after-return");
    cluster.restart("head");
    expect(await pending).toBe(10);
    const page = await client.read(0, { maxEntries: 100 });
    expect(page.entries.map((e) => new TextDecoder().decode(e.payload))).toEqual([...Array.from({ length: 10 }, (_, i) => `v${i}`), "after-return"]);
    await waitForCluster(cluster, (d) => d.chains[0].members.includes("middle"), 10_000, "middle did not sync back in once the head returned");
    client.close();
  } finally {
    await cluster.cleanup();
  }
});

test("a returning node holding entries the chain does not have is truncated and repaired", async () => {
  const cluster = await startTestCluster();
  try {
    const client = await CatenaClient.connect({ master: cluster.masterUrl });
    for (let i = 0; i < 50; i++) await client.append(`good-${i}`);
    await cluster.signal("tail", "SIGTERM");
    // Forge entries past the stopped tail's log end, as if it had received writes the chain lost.
    const dir = join(cluster.dir, "tail", "chain-1");
    const log = await Log.open({ dir, segmentBytes: 64 << 20, indexIntervalBytes: 4096, recordBytesMax: 1048608, sync: "always", syncIntervalMs: 5 });
    const forged = new Uint8Array(10 * 64);
    const dv = dataView(forged);
    let pos = 0;
    for (let i = 0; i < 10; i++) pos = encodeRecordInto(forged, dv, pos, log.endOffset + i, 999, i + 1, new TextEncoder().encode(`forged-${i}`));
    log.append(forged, 0, pos, 10);
    await log.close();
    // Meanwhile the chain moves on without the tail.
    await waitForCluster(cluster, (d) => !d.chains[0].members.includes("tail"), 5000, "the tail was not removed");
    for (let i = 50; i < 70; i++) await client.append(`good-${i}`);

    cluster.restart("tail");
    await waitForCluster(cluster, (d) => d.chains[0].members.length === 3, 20_000, "the tail did not sync back in");
    await waitForCluster(cluster, (d) => d.nodes.every((n) => n.logEnd === 70 && n.commitEnd === 70), 10_000, "the chain did not settle");
    client.close();
    for (const n of ["head", "middle", "tail"]) await cluster.signal(n, "SIGTERM");
    const tail = await readNodeLog(join(cluster.dir, "tail"));
    expect(tail.map((e) => e.payload)).toEqual(Array.from({ length: 70 }, (_, i) => `good-${i}`));
    const text = await Bun.file(join(cluster.dir, "tail.log")).text();
    expect(text).toContain("dropped entries the predecessor could not confirm as the chain's");
  } finally {
    await cluster.cleanup();
  }
});

test("a second node with a live node's id is refused, with a clear message", async () => {
  const cluster = await startTestCluster();
  try {
    const res = await fetch(`${cluster.masterUrl}/v1/nodes/join`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "middle", clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2", adminAddr: "127.0.0.1:3", chains: [] }),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toContain('node id "middle" is in use by a live node');
    const bad = await fetch(`${cluster.masterUrl}/v1/nodes/heartbeat`, { method: "POST", body: JSON.stringify({ id: "stranger", chains: [] }) });
    expect(bad.status).toBe(404);
  } finally {
    await cluster.cleanup();
  }
});

test("the master streams cluster events over SSE", async () => {
  const cluster = await startTestCluster({ replicationFactor: 3, nodes: 3 });
  try {
    const res = await fetch(`${cluster.masterUrl}/v1/events`);
    const reader = res.body!.getReader();
    await cluster.signal("middle", "SIGKILL");
    let text = "";
    const deadline = Date.now() + 5000;
    while (!text.includes('"kind":"reconfigured"') && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(5000).then(() => null)]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    expect(text).toContain("event: cluster");
    expect(text).toContain('"kind":"failed"');
    expect(text).toContain('"kind":"reconfigured"');
  } finally {
    await cluster.cleanup();
  }
});
