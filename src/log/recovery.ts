// Opening a log directory: find the segments, check their records, cut a torn or corrupt tail.
// Corrupt data on disk is an operating condition (a power cut, a bad disk), so everything here
// reports what it dropped instead of throwing.

import fs from "node:fs";
import path from "node:path";
import { RECORD_HEADER_BYTES, dataView, scanRecords } from "../protocol/record.ts";
import { isPreallocName, parseSegmentName, readAll, zeroNonZero } from "./files.ts";
import { SparseIndex } from "./index-file.ts";
import { Segment, type SegmentLimits } from "./segment.ts";

/** Recovery reads segments in chunks of this size (or two records, if larger). */
const SCAN_CHUNK_BYTES = 4 << 20;

export interface RecoveryReport {
  /** Bytes dropped: cut records, garbage after the last record, deleted later segments. */
  truncatedBytes: number;
  problem?: string;
  segments: number;
}

export interface SegmentScan {
  /** True when the records end at a zero length or at the end of the file. */
  clean: boolean;
  problem?: string;
  end: number;
  nextOffset: number;
  index: SparseIndex;
}

/** Opens every segment in `dir`, oldest first, with its records checked and any bad tail cut. */
export function recoverSegments(dir: string, limits: SegmentLimits, verifySealed: boolean): { segments: Segment[]; report: RecoveryReport } {
  const segments = listSegmentBases(dir).map((base) => Segment.open(dir, base, limits));
  const report: RecoveryReport = { truncatedBytes: 0, segments: 0 };
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const next = segments[i + 1];
    const scan = next && !verifySealed ? (quickScan(segment, next.base) ?? scanSegment(segment)) : scanSegment(segment);
    adoptScan(segment, scan);
    if (next && scan.clean && scan.nextOffset === next.base) continue;
    const problem = scan.problem ?? (next ? `records end at offset ${scan.nextOffset}, the next segment starts at ${next.base}` : undefined);
    cutTail(segment, problem, report);
    if (next) {
      report.truncatedBytes += removeSegments(segments.splice(i + 1));
      report.problem = `${report.problem}; deleted the later segments`;
    }
  }
  for (const segment of segments) {
    fs.fdatasyncSync(segment.fd);
    segment.syncedPos = segment.writePos;
  }
  report.segments = segments.length;
  return { segments, report };
}

/** Segment bases in `dir`, sorted. Removes half-made preallocated files and orphan index files. */
function listSegmentBases(dir: string): number[] {
  const names = fs.readdirSync(dir);
  const bases: number[] = [];
  for (const name of names) {
    const base = parseSegmentName(name);
    if (base !== null) bases.push(base);
    else if (isPreallocName(name)) fs.rmSync(path.join(dir, name), { force: true });
    else if (name.endsWith(".index") && !names.includes(name.replace(/\.index$/, ".log"))) fs.rmSync(path.join(dir, name), { force: true });
  }
  return bases.sort((a, b) => a - b);
}

function adoptScan(segment: Segment, scan: SegmentScan): void {
  segment.writePos = scan.end;
  segment.endOffset = scan.nextOffset;
  segment.replaceIndex(scan.index, SparseIndex.decode(segment.readIndexFile(), segment.limits.indexIntervalBytes, segment.capacity));
}

/**
 * Zeroes everything after the last good record so that stale but valid-looking records can never
 * reappear behind newer, shorter writes, then fdatasyncs.
 */
function cutTail(segment: Segment, problem: string | undefined, report: RecoveryReport): void {
  const reach = zeroNonZero(segment.fd, segment.writePos, segment.capacity);
  const dropped = reach - segment.writePos;
  if (dropped > 0) fs.fdatasyncSync(segment.fd);
  if (problem === undefined && dropped === 0) return;
  report.truncatedBytes += dropped;
  const why = problem ?? "non-zero bytes after the last record";
  report.problem = `${segment.path}: ${why}; kept offsets up to ${segment.endOffset} (byte ${segment.writePos}), dropped ${dropped} bytes`;
}

function removeSegments(doomed: Segment[]): number {
  let bytes = 0;
  for (const segment of doomed) {
    bytes += scanSegment(segment).end;
    segment.remove();
  }
  return bytes;
}

/**
 * For a sealed segment whose index file looks right: checks only the records after the last index
 * entry. Returns null when the index is unusable or the records do not lead to `nextBase`.
 */
function quickScan(segment: Segment, nextBase: number): SegmentScan | null {
  const index = SparseIndex.decode(segment.readIndexFile(), segment.limits.indexIntervalBytes, segment.capacity);
  if (!index) return null;
  const last = index.last();
  const scan = scanSegment(segment, last.pos, segment.base + last.relOffset, index);
  return scan.clean && scan.nextOffset === nextBase ? scan : null;
}

/** Checks records from byte `pos` (holding `offset`) until the first bad one or the end of data. */
function scanSegment(segment: Segment, pos = 0, offset = segment.base, index = new SparseIndex(segment.limits.indexIntervalBytes)): SegmentScan {
  const { recordBytesMax } = segment.limits;
  const chunk = new Uint8Array(Math.min(segment.capacity, Math.max(SCAN_CHUNK_BYTES, 2 * recordBytesMax)));
  for (;;) {
    const n = readAll(segment.fd, chunk, 0, Math.min(chunk.length, segment.capacity - pos), pos);
    const scan = scanRecords(chunk, 0, n, offset, recordBytesMax);
    offerRecords(index, chunk, scan.end, pos, offset - segment.base);
    const moreFile = pos + n < segment.capacity;
    pos += scan.end;
    offset = scan.nextOffset;
    const result = { end: pos, nextOffset: offset, index };
    if (scan.ok && !moreFile) return { clean: true, ...result };
    if (scan.ok) continue;
    if (moreFile && scan.end > 0 && cutByChunk(chunk, scan.end, n, recordBytesMax)) continue;
    if (endOfData(chunk, scan.end, n)) return { clean: true, ...result };
    return { clean: false, problem: scan.problem, ...result };
  }
}

/** A zero length, or a few zero bytes at the very end of the file, is where written data ends. */
function endOfData(chunk: Uint8Array, at: number, n: number): boolean {
  if (at + 4 <= n) return dataView(chunk).getUint32(at, true) === 0;
  return chunk.subarray(at, n).every((b) => b === 0);
}

/** True when the record at `at` only looks cut because the chunk ends inside it. */
function cutByChunk(chunk: Uint8Array, at: number, n: number, recordBytesMax: number): boolean {
  if (at + 4 > n) return true;
  const total = dataView(chunk).getUint32(at, true);
  return total >= RECORD_HEADER_BYTES && total <= recordBytesMax && at + total > n;
}

function offerRecords(index: SparseIndex, bytes: Uint8Array, end: number, pos: number, relOffset: number): void {
  const dv = dataView(bytes);
  for (let at = 0; at < end; at += dv.getUint32(at, true)) index.offer(relOffset++, pos + at);
}
