// Encoding and decoding of every frame body. docs/protocol.md is the byte-by-byte reference.
// Decoders check every length against the frame they read from and throw CatenaError(badFrame).

import { CatenaError, ErrorCode } from "./errors.ts";
import { FRAME_HEADER_BYTES, writeFrameHeader } from "./frame.ts";
import { allocate, getU32, getU64, writeU64 } from "./record.ts";

export const FrameType = {
  hello: 0x01,
  helloOk: 0x02,
  error: 0x03,
  ok: 0x04,
  append: 0x10,
  appendOk: 0x11,
  read: 0x12,
  readOk: 0x13,
  latest: 0x14,
  latestOk: 0x15,
  subscribe: 0x16,
  entries: 0x17,
  unsubscribe: 0x18,
  watchAcks: 0x19,
  replicate: 0x20,
  commit: 0x21,
  durable: 0x22,
  truncate: 0x23,
} as const;

export const PeerKind = { client: 1, replication: 2 } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bounds-checked reader over one frame's body (byte reads: no DataView on received buffers). */
export class BodyReader {
  pos = FRAME_HEADER_BYTES;
  constructor(readonly frame: Uint8Array) {}
  private need(n: number): void {
    if (this.pos + n > this.frame.length) throw new CatenaError(ErrorCode.badFrame, `frame body too short (type ${this.frame[4]})`);
  }
  u8(): number { this.need(1); return this.frame[this.pos++]; }
  u16(): number { this.need(2); const v = this.frame[this.pos] | (this.frame[this.pos + 1] << 8); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = getU32(this.frame, this.pos); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    if (getU32(this.frame, this.pos + 4) >= 0x20_0000) throw new CatenaError(ErrorCode.badFrame, "64-bit value above 2^53");
    const v = getU64(this.frame, this.pos); this.pos += 8; return v;
  }
  string(): string { const n = this.u16(); this.need(n); const s = decoder.decode(this.frame.subarray(this.pos, this.pos + n)); this.pos += n; return s; }
  bytes(n: number): Uint8Array { this.need(n); const b = this.frame.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  rest(): Uint8Array { const b = this.frame.subarray(this.pos); this.pos = this.frame.length; return b; }
  end(): void { if (this.pos !== this.frame.length) throw new CatenaError(ErrorCode.badFrame, `frame has ${this.frame.length - this.pos} unexpected trailing bytes (type ${this.frame[4]})`); }
}

/** Builds a frame of known size: header written, body appended with the typed setters. */
export class FrameWriter {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  pos = FRAME_HEADER_BYTES;
  constructor(type: number, id: number, bodyBytes: number) {
    ({ bytes: this.bytes, dv: this.dv } = allocate(FRAME_HEADER_BYTES + bodyBytes));
    writeFrameHeader(this.dv, 0, this.bytes.length, type, id);
  }
  u8(v: number): this { this.dv.setUint8(this.pos++, v); return this; }
  u16(v: number): this { this.dv.setUint16(this.pos, v, true); this.pos += 2; return this; }
  u32(v: number): this { this.dv.setUint32(this.pos, v >>> 0, true); this.pos += 4; return this; }
  u64(v: number): this { writeU64(this.dv, this.pos, v); this.pos += 8; return this; }
  raw(b: Uint8Array): this { this.bytes.set(b, this.pos); this.pos += b.length; return this; }
  done(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error(`frame writer filled ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

// ---- connection set-up -------------------------------------------------------------------------

/**
 * HELLO opens every connection. A predecessor's replication HELLO also carries its commit end.
 * `token` is the client token on the client port and the node token on the replication port
 * ("" when none is configured).
 */
export interface Hello { version: number; kind: number; chainId: number; epoch: number; commitEnd: number; nodeId: string; token: string }

export function encodeHello(id: number, h: Hello): Uint8Array {
  const name = encoder.encode(h.nodeId);
  const token = encoder.encode(h.token);
  return new FrameWriter(FrameType.hello, id, 2 + 1 + 1 + 4 + 4 + 8 + 2 + name.length + 2 + token.length)
    .u16(h.version).u8(h.kind).u8(0).u32(h.chainId).u32(h.epoch).u64(h.commitEnd).u16(name.length).raw(name).u16(token.length).raw(token).done();
}

export function decodeHello(frame: Uint8Array): Hello {
  const r = new BodyReader(frame);
  const version = r.u16(), kind = r.u8();
  r.u8();
  const chainId = r.u32(), epoch = r.u32(), commitEnd = r.u64(), nodeId = r.string(), token = r.string();
  r.end();
  return { version, kind, chainId, epoch, commitEnd, nodeId, token };
}

/**
 * HELLO_OK. On the replication port it describes the receiver's log so the predecessor can check
 * it against its own: the log end and the CRC of the entry before it, and the commit end the
 * receiver had recorded and the CRC of the entry before that (CRCs are 0 when the offset is 0).
 */
export interface HelloOk { version: number; logEnd: number; lastCrc: number; commitEnd: number; commitCrc: number }

export function encodeHelloOk(id: number, h: HelloOk): Uint8Array {
  return new FrameWriter(FrameType.helloOk, id, 2 + 2 + 8 + 4 + 4 + 8 + 4 + 4)
    .u16(h.version).u16(0).u64(h.logEnd).u32(h.lastCrc).u32(0).u64(h.commitEnd).u32(h.commitCrc).u32(0).done();
}

export function decodeHelloOk(frame: Uint8Array): HelloOk {
  const r = new BodyReader(frame);
  const version = r.u16();
  r.u16();
  const logEnd = r.u64(), lastCrc = r.u32();
  r.u32();
  const commitEnd = r.u64(), commitCrc = r.u32();
  r.u32();
  r.end();
  return { version, logEnd, lastCrc, commitEnd, commitCrc };
}

export function encodeError(id: number, err: CatenaError): Uint8Array {
  const text = encoder.encode(err.message.slice(0, 1000));
  return new FrameWriter(FrameType.error, id, 2 + 2 + text.length + 16)
    .u16(err.code).u16(text.length).raw(text).u64(err.rangeStart).u64(err.rangeEnd).done();
}

export function decodeError(frame: Uint8Array): CatenaError {
  const r = new BodyReader(frame);
  const code = r.u16(), message = r.string(), start = r.u64(), end = r.u64();
  r.end();
  return new CatenaError(code, message, start, end);
}

// ---- client operations -------------------------------------------------------------------------

export interface Append { chainId: number; clientId: number; firstRequestId: number; payloads: Uint8Array[] }

export function appendFrameBytes(payloads: readonly Uint8Array[]): number {
  let n = FRAME_HEADER_BYTES + 4 + 4 + 8 + 8;
  for (const p of payloads) n += 4 + p.length;
  return n;
}

export function encodeAppend(id: number, a: Append): Uint8Array {
  const w = new FrameWriter(FrameType.append, id, appendFrameBytes(a.payloads) - FRAME_HEADER_BYTES)
    .u32(a.chainId).u32(a.payloads.length).u64(a.clientId).u64(a.firstRequestId);
  for (const p of a.payloads) w.u32(p.length).raw(p);
  return w.done();
}

/** Decodes an append. Payloads are views into `frame`. */
export function decodeAppend(frame: Uint8Array): Append {
  const r = new BodyReader(frame);
  const chainId = r.u32(), count = r.u32(), clientId = r.u64(), firstRequestId = r.u64();
  if (count === 0) throw new CatenaError(ErrorCode.badFrame, "append carries no payload");
  if (count > (frame.length - r.pos) / 4) throw new CatenaError(ErrorCode.badFrame, `append claims ${count} payloads, more than its frame can hold`);
  const payloads = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) payloads[i] = r.bytes(r.u32());
  r.end();
  return { chainId, clientId, firstRequestId, payloads };
}

/** One run of acknowledged entries: requests firstRequestId.. got offsets firstOffset.., count of them. */
export interface AckRun {
  firstRequestId: number;
  firstOffset: number;
  count: number;
}

export const APPEND_OK_RUN_BYTES = 24;

/** APPEND_OK: u32 runCount, u32 0, then per run u64 firstRequestId, u64 firstOffset, u32 count, u32 0. */
export function encodeAppendOk(id: number, runs: readonly AckRun[]): Uint8Array {
  const w = new FrameWriter(FrameType.appendOk, id, 8 + runs.length * APPEND_OK_RUN_BYTES).u32(runs.length).u32(0);
  for (const r of runs) w.u64(r.firstRequestId).u64(r.firstOffset).u32(r.count).u32(0);
  return w.done();
}

export function decodeAppendOk(frame: Uint8Array): AckRun[] {
  const r = new BodyReader(frame);
  const n = r.u32();
  r.u32();
  if (n > (frame.length - r.pos) / APPEND_OK_RUN_BYTES) throw new CatenaError(ErrorCode.badFrame, `APPEND_OK claims ${n} runs, more than its frame can hold`);
  const runs: AckRun[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const firstRequestId = r.u64(), firstOffset = r.u64(), count = r.u32();
    r.u32();
    runs[i] = { firstRequestId, firstOffset, count };
  }
  r.end();
  return runs;
}

/** WATCH_ACKS: the client asks this node (the tail) to send it APPEND_OK for its entries. */
export interface WatchAcks { chainId: number; clientId: number }

export function encodeWatchAcks(id: number, w: WatchAcks): Uint8Array {
  return new FrameWriter(FrameType.watchAcks, id, 16).u32(w.chainId).u32(0).u64(w.clientId).done();
}

export function decodeWatchAcks(frame: Uint8Array): WatchAcks {
  const r = new BodyReader(frame);
  const chainId = r.u32();
  r.u32();
  const clientId = r.u64();
  r.end();
  return { chainId, clientId };
}

export function encodeOk(id: number): Uint8Array {
  return new FrameWriter(FrameType.ok, id, 0).done();
}

export interface Read { chainId: number; from: number; maxEntries: number; maxBytes: number }

export function encodeRead(id: number, q: Read): Uint8Array {
  return new FrameWriter(FrameType.read, id, 4 + 4 + 8 + 4 + 4).u32(q.chainId).u32(q.maxEntries).u64(q.from).u32(q.maxBytes).u32(0).done();
}

export function decodeRead(frame: Uint8Array): Read {
  const r = new BodyReader(frame);
  const chainId = r.u32(), maxEntries = r.u32(), from = r.u64(), maxBytes = r.u32();
  r.u32();
  r.end();
  if (maxEntries === 0) throw new CatenaError(ErrorCode.badFrame, "read asks for zero entries");
  if (maxBytes === 0) throw new CatenaError(ErrorCode.badFrame, "read allows zero bytes");
  return { chainId, from, maxEntries, maxBytes };
}

/** Header shared by READ_OK and ENTRIES: u64 startOffset, u64 commitEnd, u32 count, u32 0, then records. */
export interface EntriesReply { startOffset: number; commitEnd: number; count: number; records: Uint8Array }

export function encodeEntries(type: number, id: number, startOffset: number, commitEnd: number, count: number, records: Uint8Array): Uint8Array {
  return new FrameWriter(type, id, 24 + records.length).u64(startOffset).u64(commitEnd).u32(count).u32(0).raw(records).done();
}

export function decodeEntries(frame: Uint8Array): EntriesReply {
  const r = new BodyReader(frame);
  const startOffset = r.u64(), commitEnd = r.u64(), count = r.u32();
  r.u32();
  return { startOffset, commitEnd, count, records: r.rest() };
}

export function encodeLatest(id: number, chainId: number): Uint8Array {
  return new FrameWriter(FrameType.latest, id, 4).u32(chainId).done();
}

export function decodeChainOnly(frame: Uint8Array): number {
  const r = new BodyReader(frame);
  const chainId = r.u32();
  r.end();
  return chainId;
}

export interface LatestOk { startOffset: number; commitEnd: number; logEnd: number }

export function encodeLatestOk(id: number, l: LatestOk): Uint8Array {
  return new FrameWriter(FrameType.latestOk, id, 24).u64(l.startOffset).u64(l.commitEnd).u64(l.logEnd).done();
}

export function decodeLatestOk(frame: Uint8Array): LatestOk {
  const r = new BodyReader(frame);
  const startOffset = r.u64(), commitEnd = r.u64(), logEnd = r.u64();
  r.end();
  return { startOffset, commitEnd, logEnd };
}

export interface Subscribe { chainId: number; from: number }

export function encodeSubscribe(id: number, s: Subscribe): Uint8Array {
  return new FrameWriter(FrameType.subscribe, id, 16).u32(s.chainId).u32(0).u64(s.from).done();
}

export function decodeSubscribe(frame: Uint8Array): Subscribe {
  const r = new BodyReader(frame);
  const chainId = r.u32();
  r.u32();
  const from = r.u64();
  r.end();
  return { chainId, from };
}

export function encodeUnsubscribe(id: number): Uint8Array {
  return new FrameWriter(FrameType.unsubscribe, id, 0).done();
}

// ---- replication -------------------------------------------------------------------------------

export const REPLICATE_HEADER_BYTES = FRAME_HEADER_BYTES + 24;

/** The head writes this header in front of a batch of records; every other node forwards the
 * whole frame unchanged. */
export function writeReplicateHeader(dv: DataView, frameBytes: number, chainId: number, epoch: number, firstOffset: number, count: number): void {
  writeFrameHeader(dv, 0, frameBytes, FrameType.replicate, 0);
  dv.setUint32(12, chainId, true);
  dv.setUint32(16, epoch, true);
  writeU64(dv, 20, firstOffset);
  dv.setUint32(28, count, true);
  dv.setUint32(32, 0, true);
}

export interface Replicate { chainId: number; epoch: number; firstOffset: number; count: number; recordsStart: number }

export function decodeReplicate(frame: Uint8Array): Replicate {
  const r = new BodyReader(frame);
  const chainId = r.u32(), epoch = r.u32(), firstOffset = r.u64(), count = r.u32();
  r.u32();
  if (count === 0) throw new CatenaError(ErrorCode.badFrame, "replication batch is empty");
  return { chainId, epoch, firstOffset, count, recordsStart: r.pos };
}

/** COMMIT (upstream: the commit end; from a syncing node, its own ackable end), DURABLE
 * (downstream: the lowest ackable end of every node above the receiver) and TRUNCATE (downstream:
 * drop every entry from this offset on, then answer with a fresh HELLO_OK) share one body:
 * u32 chainId, u32 epoch, u64 offset. */
export interface Watermark { chainId: number; epoch: number; offset: number }

export function encodeWatermark(type: number, w: Watermark): Uint8Array {
  return new FrameWriter(type, 0, 16).u32(w.chainId).u32(w.epoch).u64(w.offset).done();
}

export function decodeWatermark(frame: Uint8Array): Watermark {
  const r = new BodyReader(frame);
  const chainId = r.u32(), epoch = r.u32(), offset = r.u64();
  r.end();
  return { chainId, epoch, offset };
}
