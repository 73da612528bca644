// Micro-benchmarks of the wire codec: append frames, the incremental parser, replication checks.
// Registered here, run by src/bench/micro.ts.

import { bench, do_not_optimize, group } from "mitata";
import { FrameParser } from "../protocol/frame.ts";
import { REPLICATE_HEADER_BYTES, decodeAppend, decodeReplicate, encodeAppend, writeReplicateHeader } from "../protocol/messages.ts";
import { dataView, encodeRecordInto, scanRecords } from "../protocol/record.ts";

const payload = new Uint8Array(100).fill(7);
const fifty = Array.from({ length: 50 }, () => payload);
const one = encodeAppend(1, { chainId: 1, clientId: 42, firstRequestId: 1, payloads: [payload] });
const many = encodeAppend(1, { chainId: 1, clientId: 42, firstRequestId: 1, payloads: fifty });

// 50 single-payload append frames in one received chunk, as a client packs them.
const chunk = new Uint8Array(one.length * 50);
for (let i = 0; i < 50; i++) chunk.set(one, i * one.length);

// A replication batch of 50 records.
export function replicationBatch(records: number, payloadBytes: number): Uint8Array {
  const frame = new Uint8Array(REPLICATE_HEADER_BYTES + records * (32 + payloadBytes));
  const dv = dataView(frame);
  let pos = REPLICATE_HEADER_BYTES;
  const body = new Uint8Array(payloadBytes).fill(3);
  for (let i = 0; i < records; i++) pos = encodeRecordInto(frame, dv, pos, i, 42, i + 1, body);
  writeReplicateHeader(dv, frame.length, 1, 1, 0, records);
  return frame;
}
const batch = replicationBatch(50, 100);

group("frame codec", () => {
  bench("encode append, 1 x 100 B", () => do_not_optimize(encodeAppend(1, { chainId: 1, clientId: 42, firstRequestId: 1, payloads: [payload] })));
  bench("encode append, 50 x 100 B", () => do_not_optimize(encodeAppend(1, { chainId: 1, clientId: 42, firstRequestId: 1, payloads: fifty })));
  bench("decode append, 1 x 100 B", () => do_not_optimize(decodeAppend(one)));
  bench("decode append, 50 x 100 B", () => do_not_optimize(decodeAppend(many)));
  bench("parse a chunk of 50 append frames", () => {
    let n = 0;
    const parser = new FrameParser(1 << 20, { frame: () => void n++ });
    parser.push(chunk);
    do_not_optimize(n);
  });
  bench("check a replication batch, 50 x 100 B (CRC + offsets)", () => {
    const r = decodeReplicate(batch);
    do_not_optimize(scanRecords(batch, r.recordsStart, batch.length, 0, 1 << 20));
  });
});
