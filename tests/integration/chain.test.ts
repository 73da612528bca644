// The compiled binary as master + head + middle + tail on loopback: concurrent appends, reads,
// subscribe, byte-identical replicas, and logs kept across a stop and start.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CatenaClient, type Entry } from "../../src/client/client.ts";
import { waitForCluster } from "../helpers/checks.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { waitUntil } from "../helpers/wait.ts";

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

// Every test works from what the file's cluster has acknowledged so far, whichever tests ran
// before it: `acked` holds each acknowledged append (offset -> payload), and every test first
// makes sure the 10,000 concurrent appends are in. Any test runs alone (`-t`) or in any order.

/** offset -> payload for every acknowledged append, by any test */
const acked = new Map<number, string>();

interface ConcurrentRun {
  /** Offsets acknowledged more than once. */
  repeated: number[];
  offsets: number[];
}
let concurrentRun: Promise<ConcurrentRun> | null = null;

/** The 10,000 appends from 8 clients, made once per file by whichever test needs them first. */
function tenThousandAppended(): Promise<ConcurrentRun> {
  concurrentRun ??= (async () => {
    const run: ConcurrentRun = { repeated: [], offsets: [] };
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => CatenaClient.connect({ master: cluster.masterUrl })));
    await Promise.all(clients.map((c, i) => appendFrom(c, `client${i}`, TOTAL / CLIENTS, run)));
    for (const c of clients) c.close();
    return run;
  })();
  return concurrentRun;
}

async function appendFrom(client: CatenaClient, name: string, count: number, run: ConcurrentRun): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const payload = `${name}-${next++}`;
      const offset = await client.append(payload);
      if (acked.has(offset)) run.repeated.push(offset);
      acked.set(offset, payload);
      run.offsets.push(offset);
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

/** The log holds exactly the acknowledged appends, each at its offset, in offset order. */
function expectAcked(entries: Entry[]): void {
  expect(entries.length).toBe(acked.size);
  entries.forEach((e, i) => {
    expect(e.offset).toBe(i);
    expect(decoder.decode(e.payload)).toBe(acked.get(i)!);
  });
}

function logBytes(node: string): Buffer {
  const dir = join(cluster.dir, node, "chain-1");
  const files = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  return Buffer.concat(files.map((f) => readFileSync(join(dir, f))));
}

test("10,000 appends from 8 concurrent clients: each acknowledged once, at distinct dense offsets", async () => {
  const run = await tenThousandAppended();
  expect(run.repeated).toEqual([]);
  expect(run.offsets.length).toBe(TOTAL);
  const offsets = run.offsets.toSorted((a, b) => a - b);
  // Dense: one stretch from 0 (every test makes this run before anything else is appended).
  expect(offsets[0]).toBe(0);
  expect(offsets[offsets.length - 1]).toBe(TOTAL - 1);
  expect(new Set(offsets.map((o) => acked.get(o))).size).toBe(TOTAL);
});

test("read returns exactly the acknowledged entries in offset order", async () => {
  await tenThousandAppended();
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  const entries = await readAll(client);
  client.close();
  expect(entries.length).toBeGreaterThanOrEqual(TOTAL);
  expectAcked(entries);
});

test("subscribe from 0 delivers exactly the acknowledged entries, then new ones as they commit", async () => {
  await tenThousandAppended();
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  const seen: Entry[] = [];
  let failed: Error | null = null;
  const sub = client.subscribe(0, (entries) => seen.push(...entries.map((e) => ({ offset: e.offset, payload: e.payload.slice() }))), (e) => (failed = e));
  try {
    const before = acked.size;
    const progress = () => `${seen.length} delivered; failure: ${failed}`;
    await waitUntil(() => failed !== null || seen.length >= before, { timeoutMs: 20_000, what: `the subscription did not deliver the ${before} acknowledged entries`, lastSeen: progress });
    const extra = await client.append("after-subscribe");
    acked.set(extra, "after-subscribe");
    expect(extra).toBe(before);
    await waitUntil(() => failed !== null || seen.length >= before + 1, { timeoutMs: 20_000, what: "the subscription did not deliver the entry appended after it caught up", lastSeen: progress });
    expect(failed).toBeNull();
    expectAcked(seen);
  } finally {
    sub.close();
    client.close();
  }
});

test("every node's log is byte-identical, and survives SIGTERM and a restart", async () => {
  await tenThousandAppended();
  for (const node of ["tail", "middle", "head"]) await cluster.signal(node, "SIGTERM");
  const head = logBytes("head");
  expect(head.length).toBeGreaterThan(0);
  expect(logBytes("middle").equals(head)).toBe(true);
  expect(logBytes("tail").equals(head)).toBe(true);

  for (const node of ["head", "middle", "tail"]) cluster.restart(node);
  await waitForCluster(cluster, (d) => d.nodes.every((n) => n.state === "serving" && n.commitEnd === acked.size), 20_000, `the restarted nodes did not all serve with commit end ${acked.size}`);
  const client = await CatenaClient.connect({ master: cluster.masterUrl });
  expectAcked(await readAll(client));
  const offset = await client.append("after-restart");
  acked.set(offset, "after-restart");
  expect(offset).toBe(acked.size - 1);
  client.close();
});
