import { afterAll, expect, test } from "bun:test";
import fc from "fast-check";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Log, type LogOptions, LogRangeError } from "../../src/log/log.ts";
import { RECORD_HEADER_BYTES, dataView, encodeRecordInto, iterateRecords } from "../../src/protocol/record.ts";
import { waitUntil } from "../helpers/wait.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "catena-log-"));
  dirs.push(dir);
  return dir;
}

function options(dir: string, more: Partial<LogOptions> = {}): LogOptions {
  return { dir, segmentBytes: 64 * 1024, indexIntervalBytes: 1024, recordBytesMax: 16 * 1024, sync: "none", syncIntervalMs: 20, ...more };
}

/** Payload of record `offset`: its length and bytes follow from the offset, so a read can be checked. */
function payloadOf(offset: number, size: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (offset * 31 + i) & 0xff;
  return payload;
}

/** Encodes records first..first+sizes.length-1 with the given payload sizes. */
function batch(first: number, sizes: number[]): Uint8Array {
  const out = new Uint8Array(sizes.reduce((sum, size) => sum + RECORD_HEADER_BYTES + size, 0));
  const dv = dataView(out);
  let pos = 0;
  sizes.forEach((size, i) => {
    pos = encodeRecordInto(out, dv, pos, first + i, 7, first + i, payloadOf(first + i, size));
  });
  return out;
}

/** Appends one batch at the log's end; returns the record sizes appended. */
function appendSizes(log: Log, sizes: number[]): void {
  const bytes = batch(log.endOffset, sizes);
  log.append(bytes, 0, bytes.length, sizes.length);
}

/** Reads every record and checks each is the one written at its offset; returns payload sizes. */
function readAllChecked(log: Log, maxEntries = 1000, maxBytes = 1 << 20): number[] {
  const sizes: number[] = [];
  let from = log.startOffset;
  while (from < log.endOffset) {
    const got = log.read(from, maxEntries, maxBytes);
    expect(got.count).toBeGreaterThan(0);
    let expected = from;
    for (const record of iterateRecords(got.bytes)) {
      expect(record.offset).toBe(expected);
      expect(record.requestId).toBe(expected);
      expect(record.payload).toEqual(payloadOf(expected, record.payload.length));
      sizes.push(record.payload.length);
      expected++;
    }
    expect(expected).toBe(got.nextOffset);
    from = got.nextOffset;
  }
  return sizes;
}

function randomSizes(seed: number, batches: number, perBatchMax: number, sizeMax: number): number[][] {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  return Array.from({ length: batches }, () => Array.from({ length: 1 + next(perBatchMax) }, () => next(sizeMax + 1)));
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith(".log")).sort().map((name) => path.join(dir, name));
}

/** Byte position where each record of a segment file ends, walking from the start. */
function recordEnds(file: string): number[] {
  const bytes = fs.readFileSync(file);
  const dv = dataView(bytes);
  const ends: number[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length && dv.getUint32(pos, true) !== 0) {
    pos += dv.getUint32(pos, true);
    ends.push(pos);
  }
  return ends;
}

test("append and read round-trip across segment rolls, also after reopen", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir));
  const batches = randomSizes(1, 300, 20, 500);
  for (const sizes of batches) appendSizes(log, sizes);
  const written = batches.flat();
  expect(log.endOffset).toBe(written.length);
  expect(log.segmentCount).toBeGreaterThan(3);
  expect(readAllChecked(log)).toEqual(written);
  expect(readAllChecked(log, 7, 3000)).toEqual(written);
  for (const offset of [0, 1, 100, 777, written.length - 1]) {
    const got = log.read(offset, 1, 1);
    expect([...iterateRecords(got.bytes)].map((r) => r.offset)).toEqual([offset]);
  }
  await log.close();

  const again = await Log.open(options(dir));
  expect(again.recovery).toEqual({ truncatedBytes: 0, segments: again.segmentCount });
  expect(again.endOffset).toBe(written.length);
  expect(readAllChecked(again)).toEqual(written);
  await again.close();
});

test("read limits: maxEntries, maxBytes, always one record, range errors", async () => {
  const log = await Log.open(options(tempDir()));
  appendSizes(log, [100, 100, 100, 5000, 100]);
  expect(log.read(0, 2, 1 << 20).count).toBe(2);
  expect(log.read(0, 10, 2 * 132).count).toBe(2);
  expect(log.read(0, 10, 2 * 132 - 1).count).toBe(1);
  const big = log.read(3, 10, 10);
  expect(big.count).toBe(1);
  expect(big.bytes.length).toBe(RECORD_HEADER_BYTES + 5000);
  expect(log.read(5, 10, 10)).toEqual({ bytes: new Uint8Array(0), count: 0, nextOffset: 5 });
  for (const bad of [-1, 6, 1e9]) {
    const err = (() => {
      try {
        log.read(bad, 1, 1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LogRangeError);
    expect(err).toMatchObject({ from: bad, start: 0, end: 5 });
  }
  expect(() => log.append(batch(7, [1]), 0, 33, 1)).toThrow(/starts at offset 7/);
  await log.close();
});

test("missing or garbled index files still read correctly", async () => {
  for (const verifySealed of [true, false]) {
    for (const damage of ["delete", "garbage", "plausible"] as const) {
      const dir = tempDir();
      const log = await Log.open(options(dir, { verifySealed }));
      const batches = randomSizes(2, 120, 20, 400);
      for (const sizes of batches) appendSizes(log, sizes);
      await log.close();
      for (const file of fs.readdirSync(dir).filter((name) => name.endsWith(".index"))) {
        const at = path.join(dir, file);
        if (damage === "delete") fs.rmSync(at);
        if (damage === "garbage") fs.writeFileSync(at, new Uint8Array(13).fill(0xab));
        // Increasing entries pointing into the middle of records.
        if (damage === "plausible") fs.writeFileSync(at, new Uint8Array(new Uint32Array([3, 1000, 9, 2001]).buffer));
      }
      const again = await Log.open(options(dir, { verifySealed }));
      expect(again.recovery.truncatedBytes).toBe(0);
      expect(readAllChecked(again, 3, 2000)).toEqual(batches.flat());
      await again.close();
    }
  }
});

test("a torn last record is cut, and no stale record reappears after newer writes", async () => {
  for (const how of ["zeros", "ftruncate", "garbage"] as const) {
    const dir = tempDir();
    const log = await Log.open(options(dir));
    for (let i = 0; i < 5; i++) appendSizes(log, [200, 300, 400]);
    await log.close();
    const file = segmentFiles(dir).at(-1)!;
    const ends = recordEnds(file);
    const cut = ends.at(-2)! + 100; // in the middle of the last record
    const fd = fs.openSync(file, "r+");
    if (how === "zeros") fs.writeSync(fd, new Uint8Array(ends.at(-1)! - cut), 0, ends.at(-1)! - cut, cut);
    if (how === "ftruncate") fs.ftruncateSync(fd, cut);
    if (how === "garbage") fs.writeSync(fd, new Uint8Array(50).fill(0x5a), 0, 50, ends.at(-1)! + 1000);
    fs.closeSync(fd);

    const reopened = await Log.open(options(dir));
    const kept = how === "garbage" ? 15 : 14;
    expect(reopened.endOffset).toBe(kept);
    expect(reopened.recovery.truncatedBytes).toBeGreaterThan(0);
    expect(reopened.recovery.problem).toContain(file);
    appendSizes(reopened, [10]);
    await reopened.close();

    const third = await Log.open(options(dir));
    expect(third.recovery.truncatedBytes).toBe(0);
    expect(third.endOffset).toBe(kept + 1);
    expect(readAllChecked(third).length).toBe(kept + 1);
    await third.close();
  }
});

test("a hole in the middle (torn page) drops everything after it, for good", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir));
  appendSizes(log, [300, 300, 300, 300, 300, 300, 300, 300]);
  await log.close();
  const file = segmentFiles(dir)[0];
  const ends = recordEnds(file);
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, new Uint8Array(332), 0, 332, ends[3]); // record 4 never reached the disk
  fs.closeSync(fd);

  const reopened = await Log.open(options(dir));
  expect(reopened.endOffset).toBe(4);
  // Same sizes again: without zeroing, old records 5..7 would line up behind the new record 4.
  appendSizes(reopened, [300]);
  await reopened.close();
  const third = await Log.open(options(dir));
  expect(third.endOffset).toBe(5);
  await third.close();
});

test("a flipped byte: in the last segment the tail from that record is cut, in a sealed one the log ends there", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir));
  const batches = randomSizes(3, 300, 10, 300);
  for (const sizes of batches) appendSizes(log, sizes);
  const segments = log.segmentCount;
  await log.close();
  const files = segmentFiles(dir);
  const flip = (file: string, record: number): number => {
    const ends = recordEnds(file);
    const bytes = fs.readFileSync(file);
    bytes[ends[record - 1] + RECORD_HEADER_BYTES] ^= 0x10;
    fs.writeFileSync(file, bytes);
    return Number(path.basename(file, ".log")) + record;
  };

  const lastBad = flip(files.at(-1)!, Math.floor(recordEnds(files.at(-1)!).length / 2));
  const reopened = await Log.open(options(dir));
  expect(reopened.endOffset).toBe(lastBad);
  expect(reopened.recovery.problem).toContain("checksum mismatch");
  await reopened.close();

  const sealedBad = flip(files[1], 5);
  const third = await Log.open(options(dir));
  expect(third.endOffset).toBe(sealedBad);
  expect(third.segmentCount).toBe(2);
  expect(segments).toBeGreaterThan(2);
  expect(third.recovery.problem).toContain("deleted the later segments");
  expect(readAllChecked(third).length).toBe(sealedBad);
  await third.close();
});

test("truncateFrom drops records across segments and zeroes them", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir, { sync: "always" }));
  const batches = randomSizes(4, 100, 10, 300);
  for (const sizes of batches) appendSizes(log, sizes);
  const before = log.segmentCount;
  await log.truncateFrom(40); // while a sync round is in flight
  expect(log.endOffset).toBe(40);
  expect(log.durableEnd).toBeLessThanOrEqual(40);
  await durableAt(log, 40);
  expect(log.segmentCount).toBeLessThan(before);
  expect(readAllChecked(log)).toEqual(batches.flat().slice(0, 40));
  appendSizes(log, [1, 2, 3]);
  await log.close();
  const again = await Log.open(options(dir));
  expect(again.endOffset).toBe(43);
  expect(readAllChecked(again)).toEqual([...batches.flat().slice(0, 40), 1, 2, 3]);
  await again.close();
});

test("the next segment is preallocated in the background and used at the roll", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir));
  const prepared = (): string[] => fs.readdirSync(dir).filter((name) => name.endsWith(".prealloc.tmp"));
  while (log.bytes < 40 * 1024) appendSizes(log, [1000]);
  for (let waited = 0; !log.nextSegmentReady && waited < 5000; waited += 10) await Bun.sleep(10);
  expect(log.nextSegmentReady).toBe(true);
  expect(prepared().length).toBe(1);
  const ready = prepared()[0];
  expect(fs.statSync(path.join(dir, ready)).size).toBe(64 * 1024);
  while (log.segmentCount === 1) appendSizes(log, [1000]);
  // The ready file became the new segment (zero-filled, not sparse); the roll started the next one.
  expect(prepared()).not.toContain(ready);
  const second = fs.statSync(segmentFiles(dir)[1]);
  expect(second.blocks * 512).toBeGreaterThanOrEqual(64 * 1024);
  await log.close();
  expect(prepared()).toEqual([]);
  expect(segmentFiles(dir).map((file) => fs.statSync(file).size)).toEqual([64 * 1024, 64 * 1024]);
});

test("the next segment's zeros are paced by the active segment's writes; a roll that comes first takes a sparse file", async () => {
  const dir = tempDir();
  const segmentBytes = 1 << 20; // 16 chunks of 64 KiB; the zeros may run 128 KiB ahead
  const log = await Log.open(options(dir, { segmentBytes }));
  const preparedSize = (): number => {
    const names = fs.readdirSync(dir).filter((name) => name.endsWith(".prealloc.tmp"));
    return names.length === 0 ? -1 : fs.statSync(path.join(dir, names[0])).size;
  };
  // An idle log: the zeros stop a chunk past the lead instead of filling the whole file. They stop
  // at once, so each look, from the first zeros on, must be within the bound.
  const idleSizes = new Set<number>();
  await waitUntil(() => {
    idleSizes.add(preparedSize());
    return preparedSize() >= 128 * 1024;
  }, { timeoutMs: 5000, pollMs: 5, what: "the next segment was not zeroed up to two chunks", lastSeen: () => `${preparedSize()} bytes` });
  // Then 100 ms more, about as long as the first two chunks took: no further chunk goes in.
  for (let i = 0; i < 20; i++) {
    await Bun.sleep(5);
    idleSizes.add(preparedSize());
  }
  expect(Math.max(...idleSizes)).toBeLessThanOrEqual(192 * 1024);
  // Writes pull the zeros along.
  while (log.bytes < 512 * 1024) appendSizes(log, [1000]);
  await waitUntil(() => preparedSize() > 512 * 1024, { timeoutMs: 5000, pollMs: 5, what: "writes did not pull the zeros past 512 KiB", lastSeen: () => `${preparedSize()} bytes` });
  expect(preparedSize()).toBeLessThanOrEqual((512 + 192) * 1024);
  // Filling the rest in one go rolls before the zeros are done: the new segment is sized but
  // sparse, the roll does not wait, and the paced file carries on for the roll after.
  while (log.segmentCount === 1) appendSizes(log, [1000]);
  const second = segmentFiles(dir)[1];
  expect(fs.statSync(second).size).toBe(segmentBytes);
  expect(fs.statSync(second).blocks * 512).toBeLessThan(segmentBytes / 2);
  expect(preparedSize()).toBeGreaterThan(0);
  // Closing stops the zeros and removes the unfinished file.
  await log.close();
  expect(preparedSize()).toBe(-1);
  const reopened = await Log.open(options(dir, { segmentBytes }));
  expect(readAllChecked(reopened).length).toBe(reopened.endOffset);
  await reopened.close();
});

test("readWithRoom gives the same records as read, after the free bytes asked for", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir));
  for (let i = 0; i < 30; i++) appendSizes(log, [10 + i * 37, 5]);
  for (const [from, maxBytes] of [[0, 1 << 20], [7, 900], [59, 1 << 20], [60, 4096]]) {
    const plain = log.read(from, 1000, maxBytes);
    const roomy = log.readWithRoom(from, 1000, maxBytes, 40);
    expect(roomy.count).toBe(plain.count);
    expect(roomy.nextOffset).toBe(plain.nextOffset);
    expect(Buffer.from(roomy.bytes.subarray(40)).equals(Buffer.from(plain.bytes))).toBe(true);
    expect(roomy.bytes.subarray(0, 40).every((b) => b === 0)).toBe(true);
  }
  await log.close();
});

function durableAt(log: Log, offset: number): Promise<void> {
  return new Promise((resolve) => {
    if (log.durableEnd >= offset) return resolve();
    log.onDurable = (end) => end >= offset && resolve();
  });
}

function sumSynced(log: Log): number {
  return [...log.syncedPositions().values()].reduce((a, b) => a + b, 0);
}

test('sync "always": durableEnd catches up by group commit, across rolls', async () => {
  const log = await Log.open(options(tempDir(), { sync: "always", trackSynced: true }));
  for (let i = 0; i < 200; i++) appendSizes(log, [400, 400]);
  expect(log.durableEnd).toBeLessThan(log.endOffset);
  await durableAt(log, log.endOffset);
  expect(log.durableEnd).toBe(400);
  expect(sumSynced(log)).toBe(log.bytes);
  await log.close();
});

test('sync "interval": durableEnd catches up after the interval', async () => {
  const log = await Log.open(options(tempDir(), { sync: "interval", syncIntervalMs: 20, trackSynced: true }));
  appendSizes(log, [100, 100, 100]);
  expect(log.durableEnd).toBe(0);
  expect(sumSynced(log)).toBe(0);
  await durableAt(log, 3);
  expect(log.durableEnd).toBe(3);
  expect(sumSynced(log)).toBe(log.bytes);
  await log.close();
});

test('sync "none": durable only at segment roll and close', async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir, { trackSynced: true }));
  appendSizes(log, [100, 100, 100]);
  await Bun.sleep(50);
  expect(log.durableEnd).toBe(0);
  while (log.segmentCount === 1) appendSizes(log, [1000]);
  const sealedEnd = log.endOffset - 1;
  await durableAt(log, sealedEnd);
  // The roll's round starts once the appending job ends: it covers the record that rolled, too.
  expect(log.durableEnd).toBe(sealedEnd + 1);
  const [sealed, active] = [...log.syncedPositions().values()];
  expect(sealed).toBe(recordEnds(segmentFiles(dir)[0]).at(-1)!);
  expect(active).toBe(recordEnds(segmentFiles(dir)[1]).at(-1)!);
  appendSizes(log, [100, 100]);
  await Bun.sleep(50);
  expect(log.durableEnd).toBe(sealedEnd + 1);
  let reported = 0;
  log.onDurable = (end) => (reported = end);
  await log.close();
  expect(reported).toBe(sealedEnd + 3);
  const again = await Log.open(options(dir));
  expect(again.endOffset).toBe(sealedEnd + 3);
  await again.close();
});

test("an fdatasync failure fails the log for good", async () => {
  const failing = (_fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void => {
    const err: NodeJS.ErrnoException = new Error("EIO: i/o error, fdatasync");
    err.code = "EIO";
    setTimeout(() => callback(err), 1);
  };
  const log = await Log.open(options(tempDir(), { sync: "always", fdatasync: failing }));
  const failed = new Promise<Error>((resolve) => (log.onFailure = resolve));
  appendSizes(log, [10]);
  expect((await failed).message).toContain("EIO");
  expect(log.durableEnd).toBe(0);
  expect(() => appendSizes(log, [10])).toThrow(/failed earlier/);
  await expect(log.close()).rejects.toThrow("EIO");
});

test("property: after a cut anywhere in the last segment, exactly the complete records before it remain", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 60 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      async (batches, where, shrinkFile) => {
        const dir = tempDir();
        const log = await Log.open(options(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 512, recordBytesMax: 4096 }));
        for (const sizes of batches) appendSizes(log, sizes);
        await log.close();
        const file = segmentFiles(dir).at(-1)!;
        const base = Number(path.basename(file, ".log"));
        const ends = recordEnds(file);
        const used = ends.at(-1) ?? 0;
        const cut = Math.floor(where * used);
        const before = fs.readFileSync(file);
        if (shrinkFile) fs.truncateSync(file, cut);
        else {
          const fd = fs.openSync(file, "r+");
          fs.writeSync(fd, new Uint8Array(used - cut), 0, used - cut, cut);
          fs.closeSync(fd);
        }
        // Zeroing bytes that were already zero (the id fields of a record, say) changes nothing:
        // the record the cut falls in survives then, intact.
        const straddling = ends.find((end) => end > cut);
        const untouched = !shrinkFile && straddling !== undefined && before.subarray(cut, straddling).every((b) => b === 0);
        const expected = base + ends.filter((end) => end <= cut).length + (untouched ? 1 : 0);
        const reopened = await Log.open(options(dir, { segmentBytes: 16 * 1024, indexIntervalBytes: 512, recordBytesMax: 4096 }));
        expect(reopened.endOffset).toBe(expected);
        expect(readAllChecked(reopened)).toEqual(batches.flat().slice(0, expected));
        await reopened.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    ),
    { numRuns: 200 },
  );
});

test("only the sealed segments read last keep their index in memory; the others read theirs back, or rebuild it", async () => {
  const dir = tempDir();
  const log = await Log.open(options(dir, { indexIntervalBytes: 256 }));
  while (log.segmentCount < 20) appendSizes(log, [300, 40, 700]);
  expect(log.indexesInMemory).toBeLessThanOrEqual(9);
  // Garble the index file of the oldest segment, whose index is no longer in memory.
  const oldest = segmentFiles(dir)[0].replace(/\.log$/, ".index");
  fs.writeFileSync(oldest, new Uint8Array([1, 2, 3]));
  // Reads anywhere, in a shuffled order of segments, find every record where it belongs.
  const ends = log.endOffset;
  for (let i = 0; i < 200; i++) {
    const from = (i * 7919) % ends;
    const got = log.read(from, 3, 1 << 20);
    const sizes = [...iterateRecords(got.bytes)].map((r) => {
      expect(r.payload).toEqual(payloadOf(r.offset, r.payload.length));
      return r.offset;
    });
    expect(sizes[0]).toBe(from);
    expect(log.indexesInMemory).toBeLessThanOrEqual(9);
  }
  expect(readAllChecked(log).length).toBe(ends);
  // The garbled index was rebuilt from the records and written again.
  expect(fs.statSync(oldest).size % 8).toBe(0);
  expect(fs.statSync(oldest).size).toBeGreaterThan(8);
  await log.close();
  const again = await Log.open(options(dir, { indexIntervalBytes: 256 }));
  expect(again.indexesInMemory).toBeLessThanOrEqual(9);
  expect(readAllChecked(again).length).toBe(ends);
  await again.close();
});
