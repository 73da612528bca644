// A node whose disk fills up: its log fails with ENOSPC. It must say so (/health/ready 503 with the
// reason, /v1/status logFailures), the chain must go on without it losing no acknowledged append,
// and once space is freed the node must reopen its log and come back into the chain. Before, it
// stayed alive with nothing reported and never came back.
//
// The middle node's log.dir is a tiny tmpfs (a real full disk); this needs root for mount.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CatenaClient, fetchCluster, type Entry } from "../../src/client/client.ts";
import { startLocalCluster, type LocalCluster } from "../../src/cli/cluster-runner.ts";
import { BINARY } from "../helpers/cluster.ts";

const SEGMENT_BYTES = 2 * 1024 * 1024;
/** Two zero-filled segments and a little: the third segment runs out of space part-way. */
const SMALL_DISK = "5m";
const ROOMY_DISK = "64m";
const PAYLOAD = "x".repeat(1000);

let dir: string;
let disk: string;
let mounted = false;
let cluster: LocalCluster | null = null;
const acked = new Map<number, string>();

function run(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}; this test needs root and permission to mount tmpfs`);
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs as a small disk and must run as root");
  dir = mkdtempSync(join(tmpdir(), "catena-full-"));
  disk = join(dir, "middle");
  mkdirSync(disk);
  run(["mount", "-t", "tmpfs", "-o", `size=${SMALL_DISK}`, "tmpfs", disk]);
  mounted = true;
  cluster = await startLocalCluster({ dir, command: [BINARY], nodeLog: { segment_bytes: SEGMENT_BYTES } });
});

afterAll(async () => {
  await cluster?.stop();
  if (mounted) run(["umount", disk]);
  if (process.env.CATENA_KEEP_TEST_DATA) console.error(`kept test data in ${dir}`);
  else if (dir) rmSync(dir, { recursive: true, force: true });
});

async function adminOf(name: string): Promise<string> {
  const node = (await fetchCluster(cluster!.masterUrl)).nodes.find((n) => n.id === name)!;
  return `http://${node.adminAddr}`;
}

async function appendMany(client: CatenaClient, count: number, tag: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const payload = `${tag}-${next++}-${PAYLOAD}`;
      acked.set(await client.append(payload), payload);
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
}

async function readAll(client: CatenaClient): Promise<Entry[]> {
  const out: Entry[] = [];
  for (let from = 0; ; ) {
    const page = await client.read(from, { maxEntries: 1000 });
    if (page.entries.length === 0) return out;
    out.push(...page.entries);
    from = page.entries[page.entries.length - 1].offset + 1;
  }
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s`);
}

test("a node whose disk fills reports the failure, the chain goes on without it, and it returns once there is room", async () => {
  const middle = await adminOf("middle");
  const client = await CatenaClient.connect({ master: cluster!.masterUrl });
  // More than the small disk holds: the middle's log fails part-way.
  for (let round = 0; round < 12; round++) {
    await appendMany(client, 1000, `before${round}`);
    const status = (await (await fetch(`${middle}/v1/status`)).json()) as { logFailures: unknown[] };
    if (status.logFailures?.length > 0) break;
  }

  const ready = await fetch(`${middle}/health/ready`);
  expect(ready.status).toBe(503);
  const readyBody = (await ready.json()) as { reason: string };
  expect(readyBody.reason).toContain("the log of chain 1 failed");
  expect(readyBody.reason).toContain("ENOSPC");
  const status = (await (await fetch(`${middle}/v1/status`)).json()) as { logFailures: { chainId: number; code: string; error: string }[] };
  expect(status.logFailures).toHaveLength(1);
  expect(status.logFailures[0]).toMatchObject({ chainId: 1, code: "ENOSPC" });
  expect((await fetch(`${middle}/health`)).status).toBe(200);

  // The chain goes on without it.
  await waitUntil("the master removed the middle node", 10_000, async () => (await fetchCluster(cluster!.masterUrl)).chains[0].members.join() === "head,tail");
  await appendMany(client, 500, "without-middle");

  // Still out of service while the disk is full.
  expect(((await (await fetch(`${middle}/v1/status`)).json()) as { logFailures: unknown[] }).logFailures).toHaveLength(1);
  expect((await fetch(`${middle}/health/ready`)).status).toBe(503);

  // Room again: the node reopens its log, joins, copies what it missed and becomes the tail.
  run(["mount", "-o", `remount,size=${ROOMY_DISK}`, "tmpfs", disk]);
  await waitUntil("the middle node came back into the chain", 30_000, async () => (await fetchCluster(cluster!.masterUrl)).chains[0].members.join() === "head,tail,middle");
  await appendMany(client, 500, "after");
  await waitUntil("the middle node caught up", 10_000, async () => {
    const nodes = (await fetchCluster(cluster!.masterUrl)).nodes;
    const ends = new Set(nodes.map((n) => n.commitEnd));
    return ends.size === 1 && nodes.every((n) => n.logEnd === acked.size);
  });
  expect((await fetch(`${middle}/health/ready`)).status).toBe(200);
  const after = (await (await fetch(`${middle}/v1/status`)).json()) as { logFailures: unknown[] };
  expect(after.logFailures).toEqual([]);

  // Every acknowledged append is there, once, at its offset (read from the tail: the middle node).
  const entries = await readAll(client);
  client.close();
  expect(entries.length).toBe(acked.size);
  const decoder = new TextDecoder();
  for (const e of entries) expect(decoder.decode(e.payload)).toBe(acked.get(e.offset)!);

  // A full disk is an operating error: its log lines carry no stack trace.
  const middleLog = readFileSync(join(dir, "middle.log"), "utf8");
  expect(middleLog).not.toContain("internal error");
  expect(middleLog).not.toMatch(/\n\s+at /);
}, 120_000);
