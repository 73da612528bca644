// One segment: a preallocated file `<base>.log` holding records with offsets from `base`, written
// front to back, and its sparse index. `writePos` is where written data ends; past it the file
// holds zeros, which is what tells recovery where the records stop.

import fs from "node:fs";
import { RECORD_HEADER_BYTES, dataView, getU32 } from "../protocol/record.ts";
import { INDEX_ENTRY_BYTES, SparseIndex } from "./index-file.ts";
import { type PreparedFile, indexPath, openReadWrite, readAll, segmentPath, writeAll, writeZeros } from "./files.ts";

export interface SegmentLimits {
  indexIntervalBytes: number;
  recordBytesMax: number;
}

export class Segment {
  /** Where written records end. */
  writePos = 0;
  /** The offset the next record in this segment would get. */
  endOffset: number;
  /** Byte position known to be fdatasynced. */
  syncedPos = 0;
  /** The sparse index in memory; null once dropped (a sealed segment not read lately). */
  private loadedIndex: SparseIndex | null;
  /** Entries of the index already written to the index file. */
  private indexStored = 0;

  private constructor(
    readonly dir: string,
    readonly base: number,
    readonly fd: number,
    private readonly indexFd: number,
    readonly capacity: number,
    readonly limits: SegmentLimits,
  ) {
    this.endOffset = base;
    this.loadedIndex = new SparseIndex(limits.indexIntervalBytes);
  }

  /**
   * The sparse index, read back from the index file if it was dropped. That file holds every entry
   * (written with each append, checked or rewritten by recovery); should it no longer make sense,
   * the index is rebuilt from the records.
   */
  get index(): SparseIndex {
    if (this.loadedIndex) return this.loadedIndex;
    const fromFile = SparseIndex.decode(this.readIndexFile(), this.limits.indexIntervalBytes, this.capacity);
    if (fromFile && fromFile.last().pos < this.writePos) return (this.loadedIndex = fromFile);
    // Damaged since it was written: rebuilt, and written again for the next time.
    this.replaceIndex(this.indexFromRecords(), null);
    return this.loadedIndex!;
  }

  get indexLoaded(): boolean {
    return this.loadedIndex !== null;
  }

  /** Frees the in-memory index of a sealed segment (128–256 KiB per 64 MiB of small entries). */
  dropIndex(): void {
    if (this.indexStored === this.loadedIndex?.count) this.loadedIndex = null;
  }

  /** Gives the memory a sealed segment's index no longer grows into back. */
  sealIndex(): void {
    this.loadedIndex?.compact();
  }

  private indexFromRecords(): SparseIndex {
    const index = new SparseIndex(this.limits.indexIntervalBytes);
    this.skipRecords(0, this.base, this.endOffset, new Uint8Array(64 * 1024), (offset, pos) => index.offer(offset - this.base, pos));
    return index;
  }


  get path(): string {
    return segmentPath(this.dir, this.base);
  }

  get indexPath(): string {
    return indexPath(this.dir, this.base);
  }

  /** Opens an existing segment file; its size is its capacity. Records are found by a later scan. */
  static open(dir: string, base: number, limits: SegmentLimits): Segment {
    const fd = openReadWrite(segmentPath(dir, base));
    const capacity = fs.fstatSync(fd).size;
    return new Segment(dir, base, fd, openReadWrite(indexPath(dir, base)), capacity, limits);
  }

  /**
   * Gives a preallocated file its segment name. The caller must fsync the directory before it
   * reports anything in this segment as durable.
   */
  static install(dir: string, base: number, prepared: PreparedFile, limits: SegmentLimits): Segment {
    fs.renameSync(prepared.path, segmentPath(dir, base));
    const indexFd = openReadWrite(indexPath(dir, base));
    fs.ftruncateSync(indexFd, 0);
    const capacity = fs.fstatSync(prepared.fd).size;
    return new Segment(dir, base, prepared.fd, indexFd, capacity, limits);
  }

  /** Writes checked records bytes[start, end), `count` of them, at the end of this segment. */
  append(bytes: Uint8Array, start: number, end: number, count: number): void {
    const found = this.indexRecords(bytes, start, end, this.writePos, this.endOffset);
    if (found !== count) {
      this.index.truncateAt(this.writePos);
      throw new Error(`log append: ${found} records in the bytes, ${count} announced`);
    }
    writeAll(this.fd, bytes, start, end, this.writePos);
    this.writePos += end - start;
    this.endOffset += count;
    this.storeIndex();
  }

  /**
   * Offers every record in bytes[start, end) to the index: bytes[start] sits at file position `pos`
   * and holds offset `offset`. Returns the number of records.
   */
  private indexRecords(bytes: Uint8Array, start: number, end: number, pos: number, offset: number): number {
    let at = start;
    let count = 0;
    while (at < end) {
      const total = end - at >= 4 ? getU32(bytes, at) : 0;
      if (total < RECORD_HEADER_BYTES || at + total > end) {
        throw new Error(`log: malformed record length ${total} at byte ${at - start} of a batch`);
      }
      this.index.offer(offset + count - this.base, pos + (at - start));
      at += total;
      count++;
    }
    return count;
  }

  /** Writes index entries not yet in the index file. Never fsynced: the index is a shortcut. */
  storeIndex(): void {
    if (this.index.count === this.indexStored) return;
    const bytes = this.index.encode(this.indexStored);
    writeAll(this.indexFd, bytes, 0, bytes.length, this.indexStored * INDEX_ENTRY_BYTES);
    this.indexStored = this.index.count;
  }

  /** The index file's bytes as they are on disk. */
  readIndexFile(): Uint8Array {
    const size = fs.fstatSync(this.indexFd).size;
    const bytes = new Uint8Array(size);
    readAll(this.indexFd, bytes, 0, size, 0);
    return bytes;
  }

  /** Replaces the in-memory index and rewrites the file when it differs. */
  replaceIndex(index: SparseIndex, onDisk: SparseIndex | null): void {
    this.loadedIndex = index;
    if (onDisk && onDisk.sameEntries(index)) {
      this.indexStored = index.count;
      return;
    }
    fs.ftruncateSync(this.indexFd, 0);
    this.indexStored = 0;
    this.storeIndex();
  }

  /**
   * Drops the records from byte `pos` (holding `offset`) on: zeroes them on disk and fdatasyncs,
   * so that they can never be read back as valid records after later, shorter writes.
   */
  truncateTo(pos: number, offset: number): void {
    writeZeros(this.fd, pos, this.writePos);
    fs.fdatasyncSync(this.fd);
    this.index.truncateAt(pos);
    fs.ftruncateSync(this.indexFd, this.index.count * INDEX_ENTRY_BYTES);
    this.indexStored = this.index.count;
    this.writePos = pos;
    this.endOffset = offset;
    this.syncedPos = pos;
  }

  /** Byte position of the record holding `offset` (base <= offset <= endOffset). */
  positionOf(offset: number, scratch: Uint8Array): number {
    const entry = this.index.floor(offset - this.base);
    return this.skipRecords(entry.pos, this.base + entry.relOffset, offset, scratch);
  }

  /** Walks record lengths from `pos` (holding `offset`) to the record holding `target`, showing
   * `visit` each record passed. */
  skipRecords(pos: number, offset: number, target: number, scratch: Uint8Array, visit?: (offset: number, pos: number) => void): number {
    const dv = dataView(scratch);
    while (offset < target) {
      const n = readAll(this.fd, scratch, 0, Math.min(scratch.length, this.writePos - pos), pos);
      let at = 0;
      while (offset < target && at + 4 <= n) {
        const total = dv.getUint32(at, true);
        if (total < RECORD_HEADER_BYTES) throw this.corrupt(pos + at, total);
        visit?.(offset, pos + at);
        at += total;
        offset++;
      }
      if (at === 0) throw this.corrupt(pos, 0);
      pos += at;
    }
    return pos;
  }

  corrupt(pos: number, total: number): Error {
    return new Error(`log segment ${this.path} changed under us: record length ${total} at byte ${pos}`);
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.closeSync(this.indexFd);
  }

  /** Closes and deletes both files. */
  remove(): void {
    this.close();
    fs.rmSync(this.path, { force: true });
    fs.rmSync(this.indexPath, { force: true });
  }
}
