// Reading whole records out of a segment file, and the cursor cache that lets a reader who comes
// back for the next records (a subscriber at the tail, a downstream node catching up) skip the
// index search.

import { RECORD_HEADER_BYTES, dataView } from "../protocol/record.ts";
import { readAll } from "./files.ts";
import type { Segment } from "./segment.ts";

/** First read size: enough for a typical batch without allocating maxBytes up front. */
const READ_FIRST_BYTES = 64 * 1024;

export interface SegmentRead {
  bytes: Uint8Array;
  count: number;
  endPos: number;
}

/**
 * Whole records from byte `pos` of the segment: at most maxEntries records and maxBytes bytes, but
 * always the first record. Stops at the end of the segment. With `headroom`, the returned bytes
 * start with that many free bytes before the records (room for a frame header, so a catch-up batch
 * goes out without another copy), and the whole read is done at once.
 */
export function readRecords(segment: Segment, pos: number, maxEntries: number, maxBytes: number, headroom = 0): SegmentRead {
  const available = segment.writePos - pos;
  const buffer = new GrowingRead(segment, pos, Math.min(available, maxBytes), headroom);
  let used = 0;
  let count = 0;
  while (count < maxEntries && used < available) {
    buffer.ensure(used + 4);
    const total = buffer.u32(used);
    if (total < RECORD_HEADER_BYTES || total > segment.limits.recordBytesMax || used + total > available) {
      throw segment.corrupt(pos + used, total);
    }
    if (count > 0 && used + total > maxBytes) break;
    buffer.ensure(used + total);
    used += total;
    count++;
  }
  return { bytes: buffer.take(used), count, endPos: pos + used };
}

/** A read buffer filled from the file on demand, grown by doubling up to what the read may need. */
/** A read buffer filled from the file on demand, grown by doubling up to what the read may need.
 * Positions are relative to the records; `headroom` free bytes come before them. */
class GrowingRead {
  private bytes: Uint8Array;
  private dv: DataView;
  /** Record bytes read so far. */
  private filled = 0;

  constructor(
    private readonly segment: Segment,
    private readonly pos: number,
    private readonly wanted: number,
    private readonly headroom: number,
  ) {
    this.bytes = new Uint8Array(headroom + (headroom > 0 ? wanted : Math.min(wanted, READ_FIRST_BYTES)));
    this.dv = dataView(this.bytes);
  }

  /** Makes record bytes [0, n) present (n <= available). */
  ensure(n: number): void {
    if (n <= this.filled) return;
    if (this.headroom + n > this.bytes.length) this.grow(n);
    const length = this.bytes.length - this.headroom - this.filled;
    const got = readAll(this.segment.fd, this.bytes, this.headroom + this.filled, length, this.pos + this.filled);
    if (got !== length) throw this.segment.corrupt(this.pos + this.filled + got, 0);
    this.filled += got;
  }

  u32(at: number): number {
    return this.dv.getUint32(this.headroom + at, true);
  }

  /** The headroom and the first `used` record bytes, copied when most of the buffer would be wasted. */
  take(used: number): Uint8Array {
    const length = this.headroom + used;
    if (length * 2 < this.bytes.length) return this.bytes.slice(0, length);
    return this.bytes.subarray(0, length);
  }

  private grow(n: number): void {
    // Double towards what the limits allow; a first record larger than maxBytes still fits.
    const bigger = new Uint8Array(this.headroom + Math.max(n, Math.min(this.wanted, (this.bytes.length - this.headroom) * 2)));
    bigger.set(this.bytes.subarray(0, this.headroom + this.filled));
    this.bytes = bigger;
    this.dv = dataView(bigger);
  }
}

interface Cursor {
  offset: number;
  segment: Segment;
  pos: number;
}

/** Remembers where the last few reads ended, so the next read from there needs no search. */
export class CursorCache {
  private readonly cursors: (Cursor | null)[];
  private next = 0;

  constructor(size: number) {
    this.cursors = new Array<Cursor | null>(size).fill(null);
  }

  find(offset: number): Cursor | null {
    for (const cursor of this.cursors) if (cursor !== null && cursor.offset === offset) return cursor;
    return null;
  }

  remember(offset: number, segment: Segment, pos: number): void {
    const existing = this.find(offset);
    if (existing) return;
    this.cursors[this.next] = { offset, segment, pos };
    this.next = (this.next + 1) % this.cursors.length;
  }

  /** Forgets every cursor at or past `offset` (their bytes were truncated). */
  forgetFrom(offset: number): void {
    for (let i = 0; i < this.cursors.length; i++) {
      const cursor = this.cursors[i];
      if (cursor !== null && cursor.offset >= offset) this.cursors[i] = null;
    }
  }
}
