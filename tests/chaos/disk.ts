// Disk faults on a stopped node's data directory.
//
// Power loss (there is no lazyfs here, MACHINE-NOTES.md): the node ran with
// CATENA_TEST_SYNCED_FILE, so after every sync round it wrote how far each segment file was
// fdatasynced. After a kill -9 the page cache still holds everything the node wrote; a power cut
// would keep only what was synced, plus whatever the kernel happened to write back. So each
// segment is cut back to its synced length — or, when `tornBytes` says so, a little past it, in
// the middle of a record, as a partial write-back. A segment the file does not list was named
// after the last sync round (its directory entry may not have reached the disk): it is deleted.
// The commit-end file is never fsynced: it is kept or deleted, at random.
//
// Bit flip: one byte inside a segment's written records is changed, as a bad disk would.

import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { scanRecords } from "../../src/protocol/record.ts";
import type { Prng } from "./prng.ts";

export interface DiskChange {
  file: string;
  what: string;
}

const RECORD_BYTES_MAX = 65536 + 32;

function chainDirs(nodeDir: string): string[] {
  if (!existsSync(nodeDir)) return [];
  return readdirSync(nodeDir).filter((n) => /^chain-\d+$/.test(n)).map((n) => join(nodeDir, n));
}

function segmentFiles(chainDir: string): string[] {
  return readdirSync(chainDir).filter((n) => /^\d{20}\.log$/.test(n)).sort().map((n) => join(chainDir, n));
}

/** Cuts a killed node's segments back to what it had fdatasynced. Returns what it changed. */
export function cutToSynced(nodeDir: string, syncedFile: string, rng: Prng): DiskChange[] {
  // A node writes the file when it opens a replica: without one it holds no segments yet.
  if (!existsSync(syncedFile)) return chainDirs(nodeDir).length === 0 ? [] : [{ file: syncedFile, what: "missing: nothing cut" }];
  const synced = (JSON.parse(readFileSync(syncedFile, "utf8")) as { segments: Record<string, number> }).segments;
  const changes: DiskChange[] = [];
  for (const dir of chainDirs(nodeDir)) {
    for (const file of segmentFiles(dir)) {
      const pos = synced[file];
      if (pos === undefined) {
        rmSync(file);
        rmSync(file.replace(/\.log$/, ".index"), { force: true });
        changes.push({ file, what: "deleted (named after the last sync)" });
        continue;
      }
      const written = writtenEnd(file);
      if (written <= pos) continue;
      const keep = rng.chance(0.3) ? pos + rng.int(1, written - pos) : pos;
      zeroFrom(file, keep, written);
      changes.push({ file, what: `zeroed bytes ${keep}..${written} (synced to ${pos})` });
    }
    if (rng.chance(0.5)) {
      rmSync(join(dir, "commit-end"), { force: true });
      changes.push({ file: join(dir, "commit-end"), what: "deleted" });
    }
  }
  return changes;
}

/** Where a stopped node's log of each chain ends, as its recovery will find it: whole records from
 * the first segment on, up to the first bad record or a segment that does not start where the
 * previous one ended. Read-only. */
export function logEnds(nodeDir: string): Map<string, number> {
  const ends = new Map<string, number>();
  for (const dir of chainDirs(nodeDir)) {
    let end = 0;
    for (const file of segmentFiles(dir)) {
      const base = Number(/(\d{20})\.log$/.exec(file)![1]);
      if (base !== end && end !== 0) break;
      const bytes = readFileSync(file);
      const scan = scanRecords(bytes, 0, bytes.length, base, RECORD_BYTES_MAX);
      end = scan.nextOffset;
      if (!scan.ok && scan.end < bytes.length && bytes.subarray(scan.end).some((b) => b !== 0)) break;
    }
    ends.set(dir.replace(/^.*chain-/, ""), end);
  }
  return ends;
}

/** Changes one byte inside the valid records of one of the node's segments. Null if it has none. */
export function flipByte(nodeDir: string, rng: Prng): DiskChange | null {
  const candidates = chainDirs(nodeDir).flatMap(segmentFiles).map((file) => ({ file, end: recordsEnd(file) })).filter((s) => s.end > 0);
  if (candidates.length === 0) return null;
  const { file, end } = rng.pick(candidates);
  const pos = rng.int(0, end - 1);
  const fd = openSync(file, "r+");
  try {
    const byte = new Uint8Array(1);
    readSync(fd, byte, 0, 1, pos);
    const old = byte[0];
    byte[0] = old ^ (1 << rng.int(0, 7));
    writeSync(fd, byte, 0, 1, pos);
    return { file, what: `byte ${pos} of ${end} bytes of records: 0x${old.toString(16)} -> 0x${byte[0].toString(16)}` };
  } finally {
    closeSync(fd);
  }
}

/** Where the valid records of a segment file end. */
function recordsEnd(file: string): number {
  const bytes = readFileSync(file);
  const base = Number(/(\d{20})\.log$/.exec(file)![1]);
  return scanRecords(bytes, 0, bytes.length, base, RECORD_BYTES_MAX).end;
}

/** Where written bytes end: the valid records, and any non-zero garbage after them (a torn write). */
function writtenEnd(file: string): number {
  const bytes = readFileSync(file);
  for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== 0) return i + 1;
  return 0;
}

function zeroFrom(file: string, from: number, to: number): void {
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, new Uint8Array(to - from), 0, to - from, from);
  } finally {
    closeSync(fd);
  }
}
