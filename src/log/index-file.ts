// The sparse offset index of one segment: pairs (u32 offset relative to the segment base, u32 byte
// position of that record) roughly every `intervalBytes` bytes of records. The record at position 0
// is implied and never stored. The file `<base>.index` is only a shortcut for opening: it is written
// as records are appended, never fsynced, and thrown away whenever it disagrees with the segment.

import { dataView } from "../protocol/record.ts";

export const INDEX_ENTRY_BYTES = 8;

export interface IndexEntry {
  relOffset: number;
  pos: number;
}

export class SparseIndex {
  private pairs = new Uint32Array(128);
  /** Number of stored entries. */
  count = 0;
  /** Position of the last indexed record (0 stands for the implied first record). */
  private lastPos = 0;

  constructor(readonly intervalBytes: number) {}

  /** Offers the record at `pos`; it becomes an entry once enough bytes passed since the last one. */
  offer(relOffset: number, pos: number): void {
    if (pos - this.lastPos < this.intervalBytes) return;
    if (this.count * 2 === this.pairs.length) this.grow();
    this.pairs[this.count * 2] = relOffset;
    this.pairs[this.count * 2 + 1] = pos;
    this.count++;
    this.lastPos = pos;
  }

  /** The last entry at or before `relOffset` (the implied first record when none is). */
  floor(relOffset: number): IndexEntry {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pairs[mid * 2] <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? { relOffset: 0, pos: 0 } : this.entry(found);
  }

  entry(i: number): IndexEntry {
    return { relOffset: this.pairs[i * 2], pos: this.pairs[i * 2 + 1] };
  }

  last(): IndexEntry {
    return this.count === 0 ? { relOffset: 0, pos: 0 } : this.entry(this.count - 1);
  }

  /** Drops every entry for a record at or after byte `pos`. */
  truncateAt(pos: number): void {
    while (this.count > 0 && this.pairs[this.count * 2 - 1] >= pos) this.count--;
    this.lastPos = this.last().pos;
  }

  /** File bytes for entries [from, count). */
  encode(from = 0): Uint8Array {
    const out = new Uint8Array((this.count - from) * INDEX_ENTRY_BYTES);
    const dv = dataView(out);
    for (let i = from; i < this.count; i++) {
      const at = (i - from) * INDEX_ENTRY_BYTES;
      dv.setUint32(at, this.pairs[i * 2], true);
      dv.setUint32(at + 4, this.pairs[i * 2 + 1], true);
    }
    return out;
  }

  sameEntries(other: SparseIndex): boolean {
    if (other.count !== this.count) return false;
    for (let i = 0; i < this.count * 2; i++) if (other.pairs[i] !== this.pairs[i]) return false;
    return true;
  }

  /**
   * Reads an index file's bytes, or returns null when they cannot be an index of a segment of
   * `capacity` bytes: a partial entry, or offsets and positions that do not strictly increase.
   */
  static decode(bytes: Uint8Array, intervalBytes: number, capacity: number): SparseIndex | null {
    if (bytes.length % INDEX_ENTRY_BYTES !== 0) return null;
    const index = new SparseIndex(intervalBytes);
    const dv = dataView(bytes);
    let prev: IndexEntry = { relOffset: 0, pos: 0 };
    for (let at = 0; at < bytes.length; at += INDEX_ENTRY_BYTES) {
      const relOffset = dv.getUint32(at, true);
      const pos = dv.getUint32(at + 4, true);
      if (relOffset <= prev.relOffset || pos <= prev.pos || pos >= capacity) return null;
      if (index.count * 2 === index.pairs.length) index.grow();
      index.pairs[index.count * 2] = relOffset;
      index.pairs[index.count * 2 + 1] = pos;
      index.count++;
      prev = { relOffset, pos };
    }
    index.lastPos = prev.pos;
    return index;
  }

  /** Drops the unused room at the end (a sealed segment's index no longer grows). */
  compact(): void {
    if (this.pairs.length > this.count * 2) this.pairs = this.pairs.slice(0, Math.max(2, this.count * 2));
  }

  private grow(): void {
    const bigger = new Uint32Array(this.pairs.length * 2);
    bigger.set(this.pairs);
    this.pairs = bigger;
  }
}
