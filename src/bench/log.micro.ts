// Micro-benchmarks of the log: one append of a 50-record batch (100-byte payloads) under each sync
// policy, and CRC32C. Registered here, run by src/bench/micro.ts (npm run bench:micro).
//
// Each append patches the batch's offsets in place instead of re-encoding it, so the on-disk CRCs
// go stale: the log does not check them (its caller did), and the directory is thrown away.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bench, do_not_optimize, group } from "mitata";
import { Log, type SyncPolicy } from "../log/log.ts";
import { crc32c } from "../protocol/crc32c.ts";
import { RECORD_HEADER_BYTES, dataView, encodeRecordInto, writeU64 } from "../protocol/record.ts";

const BATCH_RECORDS = 50;
const PAYLOAD_BYTES = 100;
const RECORD_BYTES = RECORD_HEADER_BYTES + PAYLOAD_BYTES;

const batch = new Uint8Array(BATCH_RECORDS * RECORD_BYTES);
const batchView = dataView(batch);
for (let i = 0; i < BATCH_RECORDS; i++) {
  encodeRecordInto(batch, batchView, i * RECORD_BYTES, i, 1, i, new Uint8Array(PAYLOAD_BYTES).fill(i));
}

function renumber(first: number): void {
  for (let i = 0; i < BATCH_RECORDS; i++) writeU64(batchView, i * RECORD_BYTES + 8, first + i);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "catena-log-bench-"));

async function openLog(sync: SyncPolicy): Promise<Log> {
  return Log.open({
    dir: path.join(root, sync),
    segmentBytes: 64 << 20,
    indexIntervalBytes: 4096,
    recordBytesMax: 1 << 20,
    sync,
    syncIntervalMs: 10,
  });
}

function appendBatch(log: Log): void {
  renumber(log.endOffset);
  log.append(batch, 0, batch.length, BATCH_RECORDS);
}

function durable(log: Log): Promise<void> {
  const target = log.endOffset;
  return new Promise((resolve) => {
    log.onDurable = (end) => {
      if (end >= target) resolve();
    };
  });
}

const logs = { always: await openLog("always"), interval: await openLog("interval"), none: await openLog("none") };

group("log append, 50 records x 100 B payload", () => {
  bench('sync "always" (await durable)', async () => {
    appendBatch(logs.always);
    await durable(logs.always);
  });
  bench('sync "interval" (10 ms)', () => appendBatch(logs.interval));
  bench('sync "none"', () => appendBatch(logs.none));
});

const small = new Uint8Array(132).map((_, i) => i);
const large = new Uint8Array(64 * 1024).map((_, i) => i * 7);

group("crc32c", () => {
  bench("132 B", () => do_not_optimize(crc32c(small)));
  bench("64 KiB", () => do_not_optimize(crc32c(large)));
});

/** Closes the logs and removes their directory; call after mitata's run(). */
export async function cleanupLogBench(): Promise<void> {
  for (const log of Object.values(logs)) await log.close();
  fs.rmSync(root, { recursive: true, force: true });
}
