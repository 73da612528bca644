// The wire format: CRC32C, every frame body's codec, the incremental frame parser, and the record
// format. Decoders must turn any malformed input into CatenaError(badFrame) and nothing else.

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { crc32c, crc32cUpdate } from "../../src/protocol/crc32c.ts";
import { CatenaError, ErrorCode } from "../../src/protocol/errors.ts";
import { FRAME_HEADER_BYTES, FrameParser } from "../../src/protocol/frame.ts";
import {
  FrameType, PeerKind, REPLICATE_HEADER_BYTES,
  APPEND_OK_RUN_BYTES,
  decodeAppend, decodeAppendOk, decodeChainOnly, decodeEntries, decodeError, decodeHello, decodeHelloOk, decodeLatestOk, decodeRead,
  decodeReplicate, decodeSubscribe, decodeWatchAcks, decodeWatermark,
  encodeAppend, encodeAppendOk, encodeEntries, encodeError, encodeHello, encodeHelloOk, encodeLatest, encodeLatestOk, encodeOk, encodeRead,
  encodeSubscribe, encodeUnsubscribe, encodeWatchAcks, encodeWatermark, writeReplicateHeader,
} from "../../src/protocol/messages.ts";
import { RECORD_HEADER_BYTES, dataView, encodeRecordInto, iterateRecords, scanRecords } from "../../src/protocol/record.ts";

const U53_MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const ascii = (s: string) => new TextEncoder().encode(s);

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.oneof(fc.constantFrom(0, 1, 0x7fff_ffff, 0xffff_ffff), fc.integer({ min: 0, max: 0xffff_ffff }));
const u64 = fc.oneof(fc.constantFrom(0, 1, 0xffff_ffff, 0x1_0000_0000, U53_MAX), fc.maxSafeNat());
const text = fc.string({ unit: "binary", maxLength: 40 });
const payload = fc.uint8Array({ maxLength: 64 });

/** Frame header fields as the parser would report them. */
function header(frame: Uint8Array) {
  const dv = dataView(frame);
  return { frameBytes: dv.getUint32(0, true), type: frame[4], flags: frame[5], reserved: dv.getUint16(6, true), id: dv.getUint32(8, true) };
}

function expectHeader(frame: Uint8Array, type: number, id: number): void {
  expect(header(frame)).toEqual({ frameBytes: frame.length, type, flags: 0, reserved: 0, id });
}

/** Runs `fn` and returns the CatenaError it threw; fails on anything else. */
function catenaErrorOf(fn: () => unknown): CatenaError {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CatenaError)) throw new Error(`expected a CatenaError, got ${String(e)}`);
    return e;
  }
  throw new Error("expected a CatenaError, nothing was thrown");
}

function expectBadFrame(fn: () => unknown): void {
  expect(catenaErrorOf(fn).code).toBe(ErrorCode.badFrame);
}

function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

// ---- CRC32C ------------------------------------------------------------------------------------

describe("crc32c", () => {
  test("known vectors", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });

  test("start and end select a range", () => {
    const bytes = ascii("xx123456789yyy");
    expect(crc32c(bytes, 2, 11)).toBe(0xe3069283);
    expect(crc32c(bytes, 5, 5)).toBe(0);
  });

  test("an incremental update equals the one-shot value", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 4 }), (bytes, rawCuts) => {
        const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let crc = 0;
        let at = 0;
        for (const cut of [...cuts, bytes.length]) {
          crc = crc32cUpdate(crc, bytes, at, cut);
          at = cut;
        }
        expect(crc).toBe(crc32c(bytes));
        expect(crc32c(bytes)).toBe(crc32c(bytes.slice()));
      }),
    );
  });

  test("long inputs (the word path) match a bit-by-bit CRC32C at every alignment", () => {
    const bitwise = (bytes: Uint8Array, start: number, end: number): number => {
      let c = ~0;
      for (let i = start; i < end; i++) {
        c ^= bytes[i];
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 3000 }), fc.nat(7), fc.nat(7), fc.nat(600), (bytes, head, tail, cut) => {
        const start = Math.min(head, bytes.length);
        const end = Math.max(start, bytes.length - tail);
        expect(crc32c(bytes, start, end)).toBe(bitwise(bytes, start, end));
        const mid = Math.min(end, start + cut);
        expect(crc32cUpdate(crc32cUpdate(0, bytes, start, mid), bytes, mid, end)).toBe(bitwise(bytes, start, end));
      }),
      { numRuns: 200 },
    );
  });
});

// ---- frame bodies: round trips -----------------------------------------------------------------

describe("frame bodies round-trip", () => {
  test("hello", () => {
    fc.assert(
      fc.property(u32, u16, u8, u32, u32, u64, text, text, (id, version, kind, chainId, epoch, commitEnd, nodeId, token) => {
        const frame = encodeHello(id, { version, kind, chainId, epoch, commitEnd, nodeId, token });
        expectHeader(frame, FrameType.hello, id);
        expect(decodeHello(frame)).toEqual({ version, kind, chainId, epoch, commitEnd, nodeId, token });
      }),
    );
  });

  test("hello_ok", () => {
    fc.assert(
      fc.property(u32, u16, u64, u32, u64, u32, (id, version, logEnd, lastCrc, commitEnd, commitCrc) => {
        const frame = encodeHelloOk(id, { version, logEnd, lastCrc, commitEnd, commitCrc });
        expectHeader(frame, FrameType.helloOk, id);
        expect(frame.length).toBe(FRAME_HEADER_BYTES + 36);
        expect(decodeHelloOk(frame)).toEqual({ version, logEnd, lastCrc, commitEnd, commitCrc });
      }),
    );
  });

  test("error, with and without a range", () => {
    fc.assert(
      fc.property(u32, u16, text, u64, u64, (id, code, message, rangeStart, rangeEnd) => {
        const frame = encodeError(id, new CatenaError(code, message, rangeStart, rangeEnd));
        expectHeader(frame, FrameType.error, id);
        const err = decodeError(frame);
        expect(err).toBeInstanceOf(CatenaError);
        expect({ code: err.code, message: err.message, rangeStart: err.rangeStart, rangeEnd: err.rangeEnd }).toEqual({ code, message, rangeStart, rangeEnd });
      }),
    );
    const plain = decodeError(encodeError(7, new CatenaError(ErrorCode.notHead, "not the head")));
    expect([plain.code, plain.name, plain.rangeStart, plain.rangeEnd]).toEqual([ErrorCode.notHead, "notHead", 0, 0]);
  });

  test("error messages are cut to 1000 characters", () => {
    const err = decodeError(encodeError(1, new CatenaError(ErrorCode.internal, "x".repeat(5000))));
    expect(err.message).toBe("x".repeat(1000));
  });

  test("append with 1..20 payloads", () => {
    fc.assert(
      fc.property(u32, u32, u64, u64, fc.array(payload, { minLength: 1, maxLength: 20 }), (id, chainId, clientId, firstRequestId, payloads) => {
        const frame = encodeAppend(id, { chainId, clientId, firstRequestId, payloads });
        expectHeader(frame, FrameType.append, id);
        const a = decodeAppend(frame);
        expect(a).toEqual({ chainId, clientId, firstRequestId, payloads });
        // Payloads are views into the frame, not copies.
        for (const p of a.payloads) expect(p.buffer).toBe(frame.buffer);
      }),
    );
  });

  test("append_ok with 0..20 runs", () => {
    const run = fc.record({ firstRequestId: u64, firstOffset: u64, count: u32 });
    fc.assert(
      fc.property(u32, fc.array(run, { maxLength: 20 }), (id, runs) => {
        const frame = encodeAppendOk(id, runs);
        expectHeader(frame, FrameType.appendOk, id);
        expect(frame.length).toBe(FRAME_HEADER_BYTES + 8 + runs.length * APPEND_OK_RUN_BYTES);
        expect(decodeAppendOk(frame)).toEqual(runs);
      }),
    );
  });

  test("watch_acks and ok", () => {
    fc.assert(
      fc.property(u32, u32, u64, (id, chainId, clientId) => {
        const frame = encodeWatchAcks(id, { chainId, clientId });
        expectHeader(frame, FrameType.watchAcks, id);
        expect(decodeWatchAcks(frame)).toEqual({ chainId, clientId });
        const ok = encodeOk(id);
        expect(ok.length).toBe(FRAME_HEADER_BYTES);
        expectHeader(ok, FrameType.ok, id);
      }),
    );
  });

  test("read", () => {
    const positive = fc.integer({ min: 1, max: 0xffff_ffff });
    fc.assert(
      fc.property(u32, u32, u64, positive, positive, (id, chainId, from, maxEntries, maxBytes) => {
        const frame = encodeRead(id, { chainId, from, maxEntries, maxBytes });
        expectHeader(frame, FrameType.read, id);
        expect(decodeRead(frame)).toEqual({ chainId, from, maxEntries, maxBytes });
      }),
    );
  });

  test("read_ok and entries", () => {
    fc.assert(
      fc.property(fc.constantFrom(FrameType.readOk, FrameType.entries), u32, u64, u64, u32, payload, (type, id, startOffset, commitEnd, count, records) => {
        const frame = encodeEntries(type, id, startOffset, commitEnd, count, records);
        expectHeader(frame, type, id);
        expect(decodeEntries(frame)).toEqual({ startOffset, commitEnd, count, records });
      }),
    );
  });

  test("latest and latest_ok", () => {
    fc.assert(
      fc.property(u32, u32, u64, u64, u64, (id, chainId, startOffset, commitEnd, logEnd) => {
        const ask = encodeLatest(id, chainId);
        expectHeader(ask, FrameType.latest, id);
        expect(decodeChainOnly(ask)).toBe(chainId);
        const answer = encodeLatestOk(id, { startOffset, commitEnd, logEnd });
        expectHeader(answer, FrameType.latestOk, id);
        expect(decodeLatestOk(answer)).toEqual({ startOffset, commitEnd, logEnd });
      }),
    );
  });

  test("subscribe and unsubscribe", () => {
    fc.assert(
      fc.property(u32, u32, u64, (id, chainId, from) => {
        const frame = encodeSubscribe(id, { chainId, from });
        expectHeader(frame, FrameType.subscribe, id);
        expect(decodeSubscribe(frame)).toEqual({ chainId, from });
        const bye = encodeUnsubscribe(id);
        expect(bye.length).toBe(FRAME_HEADER_BYTES);
        expectHeader(bye, FrameType.unsubscribe, id);
      }),
    );
  });

  test("commit, durable and truncate watermarks", () => {
    fc.assert(
      fc.property(fc.constantFrom(FrameType.commit, FrameType.durable, FrameType.truncate), u32, u32, u64, (type, chainId, epoch, offset) => {
        const frame = encodeWatermark(type, { chainId, epoch, offset });
        expectHeader(frame, type, 0);
        expect(decodeWatermark(frame)).toEqual({ chainId, epoch, offset });
      }),
    );
  });

  test("replicate header", () => {
    fc.assert(
      fc.property(u32, u32, u64, fc.integer({ min: 1, max: 0xffff_ffff }), fc.nat({ max: 100 }), (chainId, epoch, firstOffset, count, recordBytes) => {
        const frame = new Uint8Array(REPLICATE_HEADER_BYTES + recordBytes).fill(0xee);
        writeReplicateHeader(dataView(frame), frame.length, chainId, epoch, firstOffset, count);
        expectHeader(frame, FrameType.replicate, 0);
        expect(decodeReplicate(frame)).toEqual({ chainId, epoch, firstOffset, count, recordsStart: REPLICATE_HEADER_BYTES });
        expect(frame.subarray(REPLICATE_HEADER_BYTES).every((b) => b === 0xee)).toBe(true);
      }),
    );
  });
});

// ---- records -----------------------------------------------------------------------------------

interface RecordValue { clientId: number; requestId: number; payload: Uint8Array }

const recordValue = fc.record({ clientId: u64, requestId: u64, payload });

/** Encodes records with dense offsets from `firstOffset` at `start` of a buffer of `start + n + tail` bytes. */
function encodeRecords(values: readonly RecordValue[], firstOffset: number, start = 0, tail = 0) {
  const size = values.reduce((n, v) => n + RECORD_HEADER_BYTES + v.payload.length, 0);
  const bytes = new Uint8Array(start + size + tail);
  const dv = dataView(bytes);
  const starts: number[] = [];
  let pos = start;
  values.forEach((v, i) => {
    starts.push(pos);
    pos = encodeRecordInto(bytes, dv, pos, firstOffset + i, v.clientId, v.requestId, v.payload);
  });
  return { bytes, starts, end: pos };
}

describe("records", () => {
  test("encode, scan and iterate give back the same values", () => {
    fc.assert(
      fc.property(fc.array(recordValue, { maxLength: 12 }), u64, fc.nat({ max: 16 }), (values, rawFirst, start) => {
        const firstOffset = Math.max(0, Math.min(rawFirst, U53_MAX - values.length));
        const { bytes, end } = encodeRecords(values, firstOffset, start);
        expect(end).toBe(bytes.length);
        expect(scanRecords(bytes, start, end, firstOffset, 1 << 20)).toEqual({ ok: true, count: values.length, end, nextOffset: firstOffset + values.length });
        const decoded = [...iterateRecords(bytes, start, end)];
        expect(decoded).toEqual(values.map((v, i) => ({ offset: firstOffset + i, ...v })));
      }),
    );
  });

  test("the layout is the one documented", () => {
    const bytes = new Uint8Array(36);
    const end = encodeRecordInto(bytes, dataView(bytes), 0, 0x1_0000_0002, 3, 4, ascii("abcd"));
    expect(end).toBe(36);
    const dv = dataView(bytes);
    expect(dv.getUint32(0, true)).toBe(36);
    expect(dv.getUint32(4, true)).toBe(crc32c(bytes, 8, 36));
    expect([dv.getUint32(8, true), dv.getUint32(12, true)]).toEqual([2, 1]);
    expect([dv.getUint32(16, true), dv.getUint32(24, true)]).toEqual([3, 4]);
    expect(new TextDecoder().decode(bytes.subarray(32))).toBe("abcd");
  });

  test("a flipped byte anywhere is detected at the record that holds it", () => {
    fc.assert(
      fc.property(fc.array(recordValue, { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (values, rawAt, mask) => {
        const { bytes, starts, end } = encodeRecords(values, 10);
        const at = rawAt % end;
        bytes[at] ^= mask;
        const hit = starts.findLastIndex((s) => s <= at);
        const scan = scanRecords(bytes, 0, end, 10, 1 << 20);
        expect(scan.ok).toBe(false);
        expect(scan.count).toBe(hit);
        expect(scan.end).toBe(starts[hit]);
        expect(scan.nextOffset).toBe(10 + hit);
      }),
    );
  });

  test("every single flipped byte of a fixed batch is detected", () => {
    const values = [0, 5, 17].map((n, i) => ({ clientId: 9, requestId: 100 + i, payload: new Uint8Array(n).fill(n) }));
    const clean = encodeRecords(values, 0);
    for (let at = 0; at < clean.end; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bytes = clean.bytes.slice();
        bytes[at] ^= mask;
        const hit = clean.starts.findLastIndex((s) => s <= at);
        const scan = scanRecords(bytes, 0, clean.end, 0, 1 << 20);
        expect({ at, mask, ok: scan.ok, count: scan.count, end: scan.end }).toEqual({ at, mask, ok: false, count: hit, end: clean.starts[hit] });
      }
    }
  });

  test("offsets that are not dense from the expected first offset are refused", () => {
    const v = { clientId: 1, requestId: 1, payload: ascii("p") };
    const { bytes, end } = encodeRecords([v, v, v], 5);
    expect(scanRecords(bytes, 0, end, 4, 1 << 20)).toMatchObject({ ok: false, count: 0, end: 0, nextOffset: 4 });
    expect(scanRecords(bytes, 0, end, 6, 1 << 20)).toMatchObject({ ok: false, count: 0 });
    // A gap in the middle: the third record claims offset 8 instead of 7.
    const gap = new Uint8Array(end);
    const dv = dataView(gap);
    let pos = encodeRecordInto(gap, dv, 0, 5, 1, 1, v.payload);
    pos = encodeRecordInto(gap, dv, pos, 6, 1, 1, v.payload);
    const thirdAt = pos;
    encodeRecordInto(gap, dv, pos, 8, 1, 1, v.payload);
    const scan = scanRecords(gap, 0, end, 5, 1 << 20);
    expect(scan).toMatchObject({ ok: false, count: 2, end: thirdAt, nextOffset: 7 });
    if (!scan.ok) expect(scan.problem).toContain("offset 8");
  });

  test("a zero length marks the end of written data", () => {
    const v = { clientId: 1, requestId: 1, payload: ascii("hello") };
    const { bytes, end } = encodeRecords([v, v], 0, 0, 64);
    const scan = scanRecords(bytes, 0, bytes.length, 0, 1 << 20);
    expect(scan).toEqual({ ok: false, count: 2, end, nextOffset: 2, problem: "end of written data" });
    expect([...iterateRecords(bytes)].length).toBe(2);
    expect(scanRecords(new Uint8Array(8), 0, 8, 3, 1 << 20)).toMatchObject({ ok: false, count: 0, end: 0, nextOffset: 3 });
  });

  test("lengths out of range and records cut short are refused", () => {
    const v = { clientId: 1, requestId: 1, payload: new Uint8Array(40) };
    const { bytes, end } = encodeRecords([v], 0);
    expect(scanRecords(bytes, 0, end, 0, end - 1)).toMatchObject({ ok: false, count: 0 }); // above recordBytesMax
    expect(scanRecords(bytes, 0, end - 1, 0, 1 << 20)).toMatchObject({ ok: false, count: 0 }); // cut short
    expect(scanRecords(bytes, 0, 3, 0, 1 << 20)).toMatchObject({ ok: false, count: 0 }); // length cut short
    const short = bytes.slice();
    dataView(short).setUint32(0, RECORD_HEADER_BYTES - 1, true);
    expect(scanRecords(short, 0, end, 0, 1 << 20)).toMatchObject({ ok: false, count: 0 });
    expect(scanRecords(bytes, 0, 0, 0, 1 << 20)).toEqual({ ok: true, count: 0, end: 0, nextOffset: 0 });
  });
});

// ---- the incremental frame parser --------------------------------------------------------------

interface Seen { type: number; id: number; bytes: Uint8Array }

function makeFrame(type: number, id: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  const dv = dataView(frame);
  dv.setUint32(0, frame.length, true);
  frame[4] = type;
  dv.setUint32(8, id, true);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

function collector(frameBytesMax = 1 << 16) {
  const seen: Seen[] = [];
  // Frames may be views into the pushed chunk: copy them, as the sink contract says.
  const parser = new FrameParser(frameBytesMax, { frame: (type, id, bytes) => seen.push({ type, id, bytes: bytes.slice() }) });
  return { parser, seen };
}

function expected(frames: readonly Uint8Array[]): Seen[] {
  return frames.map((f) => ({ type: f[4], id: header(f).id, bytes: f }));
}

function feed(chunks: readonly Uint8Array[]): Seen[] {
  const { parser, seen } = collector();
  for (const c of chunks) expect(parser.push(c)).toBeNull();
  return seen;
}

/** Cuts `stream` at the given sorted positions. */
function cut(stream: Uint8Array, points: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, stream.length]) {
    out.push(stream.subarray(at, p));
    at = p;
  }
  return out;
}

const frameArb = fc.tuple(u8, u32, fc.uint8Array({ maxLength: 40 })).map(([type, id, body]) => makeFrame(type, id, body));

describe("FrameParser", () => {
  test("random frames fed whole, one byte at a time and in random chunks give the same frames", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, rawPoints) => {
        const stream = concatAll(frames);
        const want = expected(frames);
        expect(feed([stream])).toEqual(want);
        expect(feed(Array.from(stream, (b) => Uint8Array.of(b)))).toEqual(want);
        const points = [...new Set(rawPoints.map((p) => p % (stream.length + 1)))].sort((a, b) => a - b);
        expect(feed(cut(stream, points))).toEqual(want);
      }),
    );
  });

  test("a 2-3 frame stream split at every single point gives the same frames", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 2, maxLength: 3 }), (frames) => {
        const stream = concatAll(frames);
        const want = expected(frames);
        for (let p = 0; p <= stream.length; p++) expect(feed(cut(stream, [p]))).toEqual(want);
      }),
      { numRuns: 50 },
    );
  });

  test("a fixed stream split at every pair of points gives the same frames", () => {
    const frames = [makeFrame(1, 1, new Uint8Array(0)), makeFrame(0x17, 0xffff_ffff, ascii("twenty bytes of body")), makeFrame(3, 7, ascii("x"))];
    const stream = concatAll(frames);
    const want = expected(frames);
    for (let p = 0; p <= stream.length; p++) {
      for (let q = p; q <= stream.length; q++) expect(feed(cut(stream, [p, q]))).toEqual(want);
    }
  });

  test("empty chunks change nothing", () => {
    const frame = makeFrame(2, 5, ascii("abc"));
    expect(feed([new Uint8Array(0), frame.subarray(0, 5), new Uint8Array(0), frame.subarray(5), new Uint8Array(0)])).toEqual(expected([frame]));
  });

  test("a frame inside one chunk is passed as a view; a split frame is assembled", () => {
    const views: Uint8Array[] = [];
    const parser = new FrameParser(1024, { frame: (_t, _i, bytes) => views.push(bytes) });
    const a = makeFrame(1, 1, ascii("one"));
    const b = makeFrame(1, 2, ascii("two"));
    const chunk = concatAll([a, b]);
    expect(parser.push(chunk.subarray(0, a.length + 4))).toBeNull();
    expect(parser.push(chunk.subarray(a.length + 4))).toBeNull();
    expect(views[0].buffer).toBe(chunk.buffer);
    expect(views[1].buffer).not.toBe(chunk.buffer);
    expect(views[1]).toEqual(b);
  });

  test("frames up to frameBytesMax pass; one byte more is a problem", () => {
    const { parser, seen } = collector(64);
    expect(parser.push(makeFrame(1, 1, new Uint8Array(64 - FRAME_HEADER_BYTES)))).toBeNull();
    expect(seen.length).toBe(1);
    const problem = parser.push(makeFrame(1, 2, new Uint8Array(65 - FRAME_HEADER_BYTES)));
    expect(problem?.problem).toContain("exceeds the limit of 64 bytes");
    expect(seen.length).toBe(1);
  });

  test("a header claiming 4 GiB is refused before anything is allocated for it", () => {
    const huge = makeFrame(0x20, 9, new Uint8Array(0));
    dataView(huge).setUint32(0, 0xffff_ffff, true);
    const RealUint8Array = globalThis.Uint8Array;
    const allocated: number[] = [];
    class SpyUint8Array extends RealUint8Array {
      constructor(...args: unknown[]) {
        if (typeof args[0] === "number") allocated.push(args[0]);
        super(...(args as [number]));
      }
    }
    const ok = makeFrame(1, 1, new RealUint8Array(20));
    for (const chunks of [[huge], Array.from(huge, (b) => RealUint8Array.of(b)), [concatAll([ok, huge.subarray(0, 5)]), huge.subarray(5)]]) {
      const { parser, seen } = collector(1 << 20);
      const problems: (string | undefined)[] = [];
      globalThis.Uint8Array = SpyUint8Array as unknown as Uint8ArrayConstructor;
      try {
        for (const c of chunks) problems.push(parser.push(c)?.problem);
      } finally {
        globalThis.Uint8Array = RealUint8Array;
      }
      expect(problems.at(-1)).toContain("4294967295");
      expect(problems.slice(0, -1).every((p) => p === undefined)).toBe(true);
      expect(seen.length).toBe(chunks.length === 2 ? 1 : 0);
      expect(allocated.every((n) => n <= 1 << 20)).toBe(true);
    }
    // The spy does see the parser's allocations: a split frame is assembled in a new array.
    const { parser } = collector(1 << 20);
    globalThis.Uint8Array = SpyUint8Array as unknown as Uint8ArrayConstructor;
    try {
      parser.push(ok.subarray(0, 13));
    } finally {
      globalThis.Uint8Array = RealUint8Array;
    }
    expect(allocated).toContain(ok.length);
  });

  test("a length shorter than the header is a problem", () => {
    for (const length of [0, 1, 11]) {
      const frame = makeFrame(1, 1, new Uint8Array(20));
      dataView(frame).setUint32(0, length, true);
      for (const chunks of [[frame], Array.from(frame, (b) => Uint8Array.of(b))]) {
        const { parser, seen } = collector();
        const problems = chunks.map((c) => parser.push(c)?.problem);
        const first = problems.findIndex((p) => p !== undefined);
        expect(first).toBe(chunks.length === 1 ? 0 : FRAME_HEADER_BYTES - 1);
        expect(problems[first]).toContain(`frame length ${length} is shorter`);
        expect(seen.length).toBe(0);
      }
    }
  });

  test("after a problem every push returns the same problem and yields nothing", () => {
    const { parser, seen } = collector(100);
    const good = makeFrame(1, 1, ascii("fine"));
    const bad = makeFrame(1, 2, new Uint8Array(200));
    const first = parser.push(concatAll([good, bad]));
    expect(first).not.toBeNull();
    expect(seen.length).toBe(1);
    for (const more of [good, new Uint8Array(0), Uint8Array.of(1)]) expect(parser.push(more)).toEqual(first);
    expect(seen.length).toBe(1);
  });
});

// ---- decoders refuse malformed bodies ----------------------------------------------------------

/** One valid frame of each type, with the decoder for it and whether it checks for trailing bytes. */
const samples: { name: string; frame: Uint8Array; decode: (f: Uint8Array) => unknown; fixedBytes: number; exact: boolean }[] = [
  { name: "hello", frame: encodeHello(1, { version: 1, kind: PeerKind.replication, chainId: 2, epoch: 3, commitEnd: 4, nodeId: "node-a", token: "secret-token-0123456789" }), decode: decodeHello, fixedBytes: 0, exact: true },
  { name: "hello_ok", frame: encodeHelloOk(1, { version: 1, logEnd: 10, lastCrc: 0xdeadbeef, commitEnd: 9, commitCrc: 7 }), decode: decodeHelloOk, fixedBytes: 0, exact: true },
  { name: "error", frame: encodeError(1, new CatenaError(ErrorCode.offsetOutOfRange, "out", 1, 2)), decode: decodeError, fixedBytes: 0, exact: true },
  { name: "append", frame: encodeAppend(1, { chainId: 1, clientId: 5, firstRequestId: 6, payloads: [ascii("ab"), ascii(""), ascii("cde")] }), decode: decodeAppend, fixedBytes: 0, exact: true },
  { name: "append_ok", frame: encodeAppendOk(0, [{ firstRequestId: 5, firstOffset: 100, count: 3 }, { firstRequestId: 9, firstOffset: 200, count: 1 }]), decode: decodeAppendOk, fixedBytes: 0, exact: true },
  { name: "watch_acks", frame: encodeWatchAcks(1, { chainId: 1, clientId: 77 }), decode: decodeWatchAcks, fixedBytes: 0, exact: true },
  { name: "read", frame: encodeRead(1, { chainId: 1, from: 4, maxEntries: 10, maxBytes: 1000 }), decode: decodeRead, fixedBytes: 0, exact: true },
  { name: "read_ok", frame: encodeEntries(FrameType.readOk, 1, 0, 5, 1, ascii("records")), decode: decodeEntries, fixedBytes: FRAME_HEADER_BYTES + 24, exact: false },
  { name: "latest", frame: encodeLatest(1, 1), decode: decodeChainOnly, fixedBytes: 0, exact: true },
  { name: "latest_ok", frame: encodeLatestOk(1, { startOffset: 0, commitEnd: 5, logEnd: 6 }), decode: decodeLatestOk, fixedBytes: 0, exact: true },
  { name: "subscribe", frame: encodeSubscribe(1, { chainId: 1, from: 3 }), decode: decodeSubscribe, fixedBytes: 0, exact: true },
  { name: "commit", frame: encodeWatermark(FrameType.commit, { chainId: 1, epoch: 2, offset: 3 }), decode: decodeWatermark, fixedBytes: 0, exact: true },
  { name: "durable", frame: encodeWatermark(FrameType.durable, { chainId: 1, epoch: 2, offset: 3 }), decode: decodeWatermark, fixedBytes: 0, exact: true },
  { name: "replicate", frame: replicateSample(), decode: decodeReplicate, fixedBytes: REPLICATE_HEADER_BYTES, exact: false },
];

function replicateSample(): Uint8Array {
  const { bytes } = encodeRecords([{ clientId: 1, requestId: 1, payload: ascii("r") }], 0, REPLICATE_HEADER_BYTES);
  writeReplicateHeader(dataView(bytes), bytes.length, 1, 1, 0, 1);
  return bytes;
}

/** A copy of `frame` cut or extended to `length` bytes, with the header's length field kept right. */
function resized(frame: Uint8Array, length: number, fill = 0): Uint8Array {
  const out = new Uint8Array(length).fill(fill);
  out.set(frame.subarray(0, Math.min(length, frame.length)));
  dataView(out).setUint32(0, length, true);
  return out;
}

describe("decoders refuse malformed bodies", () => {
  for (const s of samples) {
    test(`${s.name}: the sample decodes; truncated bodies are badFrame`, () => {
      s.decode(s.frame);
      const shortest = s.exact ? s.frame.length : s.fixedBytes;
      for (let n = FRAME_HEADER_BYTES; n < shortest; n++) expectBadFrame(() => s.decode(resized(s.frame, n)));
    });
    if (s.exact) {
      test(`${s.name}: trailing bytes are badFrame`, () => {
        for (const extra of [1, 7, 100]) expectBadFrame(() => s.decode(resized(s.frame, s.frame.length + extra)));
      });
    }
  }

  test("an append whose count claims more payloads than fit is badFrame", () => {
    const frame = encodeAppend(1, { chainId: 1, clientId: 1, firstRequestId: 1, payloads: [ascii("abcd")] });
    for (const count of [2, 3, 1000, 0xffff_ffff]) {
      const f = frame.slice();
      dataView(f).setUint32(16, count, true);
      expectBadFrame(() => decodeAppend(f));
    }
    // A payload length that runs past the frame.
    const f = frame.slice();
    dataView(f).setUint32(36, 5, true);
    expectBadFrame(() => decodeAppend(f));
  });

  test("an append_ok whose run count claims more runs than fit is badFrame", () => {
    const frame = encodeAppendOk(0, [{ firstRequestId: 1, firstOffset: 1, count: 1 }]);
    for (const runs of [2, 1000, 0xffff_ffff]) {
      const f = frame.slice();
      dataView(f).setUint32(FRAME_HEADER_BYTES, runs, true);
      expectBadFrame(() => decodeAppendOk(f));
    }
    expect(decodeAppendOk(encodeAppendOk(0, []))).toEqual([]);
  });

  test("frame type numbers are the documented ones", () => {
    expect(FrameType).toEqual({
      hello: 0x01, helloOk: 0x02, error: 0x03, ok: 0x04,
      append: 0x10, appendOk: 0x11, read: 0x12, readOk: 0x13, latest: 0x14, latestOk: 0x15,
      subscribe: 0x16, entries: 0x17, unsubscribe: 0x18, watchAcks: 0x19,
      replicate: 0x20, commit: 0x21, durable: 0x22, truncate: 0x23,
    });
    expect(PeerKind).toEqual({ client: 1, replication: 2 });
  });

  test("an append with zero payloads is badFrame", () => {
    const f = encodeAppend(1, { chainId: 1, clientId: 1, firstRequestId: 1, payloads: [ascii("x")] });
    const empty = resized(f, FRAME_HEADER_BYTES + 24);
    dataView(empty).setUint32(16, 0, true);
    expect(catenaErrorOf(() => decodeAppend(empty)).message).toContain("no payload");
  });

  test("reads asking for zero entries or zero bytes are badFrame", () => {
    expectBadFrame(() => decodeRead(encodeRead(1, { chainId: 1, from: 0, maxEntries: 0, maxBytes: 10 })));
    expectBadFrame(() => decodeRead(encodeRead(1, { chainId: 1, from: 0, maxEntries: 10, maxBytes: 0 })));
  });

  test("an empty replication batch is badFrame", () => {
    const frame = new Uint8Array(REPLICATE_HEADER_BYTES);
    writeReplicateHeader(dataView(frame), frame.length, 1, 1, 0, 0);
    expectBadFrame(() => decodeReplicate(frame));
  });

  test("a string length past the frame is badFrame", () => {
    const f = encodeHello(1, { version: 1, kind: 1, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "abc", token: "" });
    dataView(f).setUint16(32, 4, true);
    expectBadFrame(() => decodeHello(f));
  });

  test("u64 fields accept 2^53-1 and refuse 2^53 and above", () => {
    const at = FRAME_HEADER_BYTES + 16; // append_ok: the first run's u64 firstOffset
    const max = encodeAppendOk(1, [{ firstRequestId: U53_MAX, firstOffset: U53_MAX, count: 1 }]);
    expect(decodeAppendOk(max)[0]).toEqual({ firstRequestId: U53_MAX, firstOffset: U53_MAX, count: 1 });
    for (const high of [0x20_0000, 0x20_0001, 0xffff_ffff]) {
      const f = max.slice();
      dataView(f).setUint32(at, 0, true);
      dataView(f).setUint32(at + 4, high, true);
      expectBadFrame(() => decodeAppendOk(f));
    }
    // Every u64 field of an append, a read and a watermark is checked the same way.
    const cases: [Uint8Array, number, (f: Uint8Array) => unknown][] = [
      [encodeAppend(1, { chainId: 1, clientId: 1, firstRequestId: 1, payloads: [ascii("x")] }), 20, decodeAppend],
      [encodeAppend(1, { chainId: 1, clientId: 1, firstRequestId: 1, payloads: [ascii("x")] }), 28, decodeAppend],
      [encodeRead(1, { chainId: 1, from: 1, maxEntries: 1, maxBytes: 1 }), 20, decodeRead],
      [encodeWatermark(FrameType.durable, { chainId: 1, epoch: 1, offset: 1 }), 20, decodeWatermark],
      [encodeHello(1, { version: 1, kind: 2, chainId: 1, epoch: 1, commitEnd: 1, nodeId: "n", token: "" }), 24, decodeHello],
      [encodeHelloOk(1, { version: 1, logEnd: 1, lastCrc: 1, commitEnd: 1, commitCrc: 1 }), 16, decodeHelloOk],
      [encodeHelloOk(1, { version: 1, logEnd: 1, lastCrc: 1, commitEnd: 1, commitCrc: 1 }), 32, decodeHelloOk],
      [encodeAppendOk(1, [{ firstRequestId: 1, firstOffset: 1, count: 1 }]), 20, decodeAppendOk],
      [encodeWatchAcks(1, { chainId: 1, clientId: 1 }), 20, decodeWatchAcks],
      [encodeLatestOk(1, { startOffset: 1, commitEnd: 1, logEnd: 1 }), 28, decodeLatestOk],
      [encodeSubscribe(1, { chainId: 1, from: 1 }), 20, decodeSubscribe],
      [encodeEntries(FrameType.entries, 1, 1, 1, 0, new Uint8Array(0)), 20, decodeEntries],
      [replicateSample(), 20, decodeReplicate],
    ];
    for (const [frame, pos, decode] of cases) {
      decode(frame);
      const f = frame.slice();
      dataView(f).setUint32(pos + 4, 0x20_0000, true);
      expectBadFrame(() => decode(f));
    }
  });

  test("random bodies behind a valid header decode or throw CatenaError(badFrame), nothing else", () => {
    const decoders: [number, (f: Uint8Array) => unknown][] = [
      [FrameType.hello, decodeHello], [FrameType.helloOk, decodeHelloOk], [FrameType.error, decodeError], [FrameType.append, decodeAppend],
      [FrameType.appendOk, decodeAppendOk], [FrameType.read, decodeRead], [FrameType.readOk, decodeEntries], [FrameType.entries, decodeEntries],
      [FrameType.latest, decodeChainOnly], [FrameType.latestOk, decodeLatestOk], [FrameType.subscribe, decodeSubscribe],
      [FrameType.replicate, decodeReplicate], [FrameType.commit, decodeWatermark], [FrameType.durable, decodeWatermark],
      [FrameType.truncate, decodeWatermark], [FrameType.watchAcks, decodeWatchAcks],
    ];
    // Bodies near the real sizes of each type, so that some of them decode.
    const body = fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.integer({ min: 0, max: 40 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })));
    fc.assert(
      fc.property(fc.constantFrom(...decoders), u32, body, ([type, decode], id, b) => {
        const frame = makeFrame(type, id, b);
        try {
          decode(frame);
        } catch (e) {
          expect(e).toBeInstanceOf(CatenaError);
          expect((e as CatenaError).code).toBe(ErrorCode.badFrame);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
