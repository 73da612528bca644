// The log record: one entry, byte for byte the same in a segment file, in a replication frame
// and in a read reply. All integers little-endian. docs/protocol.md has the table.
//
//   0  u32 recordBytes   whole record, this field included (>= RECORD_HEADER_BYTES)
//   4  u32 crc32c        CRC32C of bytes [8, recordBytes)
//   8  u64 offset        assigned by the head
//  16  u64 clientId
//  24  u64 requestId
//  32  payload           recordBytes - 32 bytes
//
// A recordBytes of 0 marks the end of the written part of a preallocated segment.

import { crc32c } from "./crc32c.ts";

export const RECORD_HEADER_BYTES = 32;
const TWO_32 = 0x1_0000_0000;

/** Little-endian reads straight from the bytes. Cheaper than a DataView on buffers that came from
 * a socket: making a DataView needs `.buffer`, which Bun materializes at some cost for those. */
export function getU32(b: Uint8Array, pos: number): number {
  return (b[pos] | (b[pos + 1] << 8) | (b[pos + 2] << 16) | (b[pos + 3] << 24)) >>> 0;
}

export function getU64(b: Uint8Array, pos: number): number {
  return getU32(b, pos) + getU32(b, pos + 4) * TWO_32;
}

export function readU64(dv: DataView, pos: number): number {
  return dv.getUint32(pos, true) + dv.getUint32(pos + 4, true) * TWO_32;
}

export function writeU64(dv: DataView, pos: number, value: number): void {
  dv.setUint32(pos, value >>> 0, true);
  dv.setUint32(pos + 4, Math.floor(value / TWO_32), true);
}

/** Fresh bytes with a DataView over them. Made from one ArrayBuffer: asking a Uint8Array for its
 * `.buffer` afterwards costs an extra allocation in JavaScriptCore. */
export function allocate(length: number): { bytes: Uint8Array; dv: DataView } {
  const buffer = new ArrayBuffer(length);
  return { bytes: new Uint8Array(buffer), dv: new DataView(buffer) };
}

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes one record at `pos` and returns the position after it. `out` must have room. */
export function encodeRecordInto(
  out: Uint8Array,
  dv: DataView,
  pos: number,
  offset: number,
  clientId: number,
  requestId: number,
  payload: Uint8Array,
): number {
  const total = RECORD_HEADER_BYTES + payload.length;
  dv.setUint32(pos, total, true);
  writeU64(dv, pos + 8, offset);
  writeU64(dv, pos + 16, clientId);
  writeU64(dv, pos + 24, requestId);
  out.set(payload, pos + RECORD_HEADER_BYTES);
  dv.setUint32(pos + 4, crc32c(out, pos + 8, pos + total), true);
  return pos + total;
}

export type RecordScan =
  | { ok: true; count: number; end: number; nextOffset: number }
  | { ok: false; count: number; end: number; nextOffset: number; problem: string };

/**
 * Checks the records in bytes[start, end): each length in range, each CRC right, offsets dense from
 * `firstOffset`. Stops at the first bad record (or at a zero length, the end of written data) and
 * reports how far the good prefix reaches. `ok` is true only when the whole range was good records.
 */
export function scanRecords(bytes: Uint8Array, start: number, end: number, firstOffset: number, recordBytesMax: number): RecordScan {
  let pos = start;
  let offset = firstOffset;
  let count = 0;
  while (pos < end) {
    if (end - pos < 4) return bad("record length cut short");
    const total = getU32(bytes, pos);
    if (total === 0) return bad("end of written data");
    if (total < RECORD_HEADER_BYTES || total > recordBytesMax) return bad(`record length ${total} out of range`);
    if (pos + total > end) return bad("record cut short");
    if (getU64(bytes, pos + 8) !== offset) return bad(`record offset ${getU64(bytes, pos + 8)} where ${offset} was expected`);
    if (crc32c(bytes, pos + 8, pos + total) !== getU32(bytes, pos + 4)) return bad(`checksum mismatch at offset ${offset}`);
    pos += total;
    offset++;
    count++;
  }
  return { ok: true, count, end: pos, nextOffset: offset };

  function bad(problem: string): RecordScan {
    return { ok: false, count, end: pos, nextOffset: offset, problem };
  }
}

export interface DecodedRecord {
  offset: number;
  clientId: number;
  requestId: number;
  payload: Uint8Array;
}

/** Splits already-checked records into views (no copies). */
export function* iterateRecords(bytes: Uint8Array, start = 0, end = bytes.length): Generator<DecodedRecord> {
  let pos = start;
  while (pos + RECORD_HEADER_BYTES <= end) {
    const total = getU32(bytes, pos);
    if (total < RECORD_HEADER_BYTES || pos + total > end) return;
    yield {
      offset: getU64(bytes, pos + 8),
      clientId: getU64(bytes, pos + 16),
      requestId: getU64(bytes, pos + 24),
      payload: bytes.subarray(pos + RECORD_HEADER_BYTES, pos + total),
    };
    pos += total;
  }
}
