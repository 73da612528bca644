// The compiled binary as master + head + middle + tail on loopback: concurrent appends, reads,
// subscribe, byte-identical replicas, and logs kept across a stop and start.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CatenaClient, fetchCluster, type Entry } from "../../src/client/client.ts";
import { startTestCluster } from "../helpers/cluster.ts";

let cluster: Awaited<ReturnType<typeof startTestCluster>>;

beforeAll(async () => {
  cluster = await startTestCluster();
});

afterAll(async () => {
  await cluster?.cleanup();
});

const TOTAL = 10_000;
const CLIENTS = 8;
const INFLIGHT = 50;
const decoder = new TextDecoder();

/** offset -> payload for every acknowledged append */
const acked = new Map<number, string>();

async function appendFrom(client: CatenaClient, name: string, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const payload = `${name}-${next++}`;
      const offset = await client.append(payload);
      expect(acked.has(offset)).toBe(false);
      acked.set(offset, payload);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
}

async function readAll(client: CatenaClient, from = 0): Promise<Entry[]> {
  const out: Entry[] = [];
  for (;;) {
    const page = await client.read(from, { maxEntries: 1000 });
    if (page.entries.length === 0) return out;
    out.push(...page.entries);
    from = page.entries[page.entries.length - 1].offset + 1;
  }
}

function logBytes(node: string): Buffer {
  const dir = join(cluster.dir, node, "chain-1");
  const files = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  return Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
}

test("10,000 appends from 8 concurrent clients: each acknowledged once, at distinct dense offsets", async () => {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => CatenaClient.connect({ master: cluster.masterUrl })));
  await Promise.all(clients.map((c, i) => appendFrom(c, `client${i}`, TOTAL / CLIENTS)));
  for (const c of clients) c.close();
  expect(acked.size).toBe(TOTAL);
  const offsets = [...acked.keys()].sort((a, b) => a - b);
  expect(offsets[0]).toBe(0);
  expect(offsets[offsets.length - 1]).toBe(TOTAL - 1);
  expect(new Set(acked.values()).size).toBe(TOTAL);
});

test("read returns exactly the acknowledged entries in offset order", async () => {
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  const entries = await readAll(client);
  client.close();
  expect(entries.length).toBe(TOTAL);
  entries.forEach((e, i) => {
    expect(e.offset).toBe(i);
    expect(decoder.decode(e.payload)).toBe(acked.get(i)!);
  });
});

test("subscribe from 0 delivers exactly the acknowledged entries, then new ones as they commit", async () => {
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  const seen: Entry[] = [];
  let failed: Error | null = null;
  const sub = client.subscribe(0, (entries) => seen.push(...entries.map((e) => ({ offset: e.offset, payload: e.payload.slice() }))), (e) => (failed = e));
  const deadline = Date.now() + 20_000;
  while (seen.length < TOTAL && Date.now() < deadline && !failed) await Bun.sleep(20);
  const extra = await client.append("after-subscribe");
  while (seen.length < TOTAL + 1 && Date.now() < deadline && !failed) await Bun.sleep(20);
  sub.close();
  client.close();
  expect(failed).toBeNull();
  expect(seen.length).toBe(TOTAL + 1);
  seen.forEach((e, i) => expect(e.offset).toBe(i));
  for (let i = 0; i < TOTAL; i++) expect(decoder.decode(seen[i].payload)).toBe(acked.get(i)!);
  expect(extra).toBe(TOTAL);
  expect(decoder.decode(seen[TOTAL].payload)).toBe("after-subscribe");
  acked.set(extra, "after-subscribe");
});

test("every node's log is byte-identical, and survives SIGTERM and a restart", async () => {
  for (const node of ["tail", "middle", "head"]) await cluster.signal(node, "SIGTERM");
  const head = logBytes("head");
  expect(logBytes("middle").equals(head)).toBe(true);
  expect(logBytes("tail").equals(head)).toBe(true);

  for (const node of ["head", "middle", "tail"]) cluster.restart(node);
  const deadline = Date.now() + 20_000;
  let commitOk = false;
  while (Date.now() < deadline && !commitOk) {
    await Bun.sleep(100);
    const doc = await fetchCluster(cluster.masterUrl).catch(() => null);
    commitOk = doc !== null && doc.nodes.every((n) => n.state === "serving" && n.commitEnd === TOTAL + 1);
  }
  expect(commitOk).toBe(true);
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  const entries = await readAll(client);
  expect(entries.length).toBe(TOTAL + 1);
  entries.forEach((e, i) => expect(decoder.decode(e.payload)).toBe(acked.get(i)!));
  expect(await client.append("after-restart")).toBe(TOTAL + 1);
  client.close();
});
