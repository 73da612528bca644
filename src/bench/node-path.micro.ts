// Micro-benchmark of one node's receive -> write -> forward path for a replication batch:
// parse the frame from a received chunk, check every record, write it to a real log file
// (sync "none", so the disk is not what is measured), and queue the same bytes on an outgoing
// connection whose socket accepts everything. Registered here, run by src/bench/micro.ts.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Socket } from "bun";
import { bench, group } from "mitata";
import { Log } from "../log/log.ts";
import { FrameParser } from "../protocol/frame.ts";
import { decodeReplicate, writeReplicateHeader } from "../protocol/messages.ts";
import { dataView, scanRecords, writeU64 } from "../protocol/record.ts";
import { crc32c } from "../protocol/crc32c.ts";
import { Connection } from "../transport/connection.ts";
import { replicationBatch } from "./codec.micro.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "catena-node-bench-"));
const log = await Log.open({ dir: root, segmentBytes: 256 << 20, indexIntervalBytes: 4096, recordBytesMax: 1 << 20, sync: "none", syncIntervalMs: 10 });

const sink = { write: (b: Uint8Array) => b.length, end() {}, terminate() {} } as unknown as Socket<unknown>;
const forward = new Connection(sink, { frameBytesMax: 4 << 20, queueBytesMax: 64 << 20 }, { frame() {}, failed() {}, closed() {} });

const batch = replicationBatch(50, 100);
const dv = dataView(batch);

/** Rewrites the batch for the log's next offsets, as the head would have built it. */
function renumber(first: number): void {
  let pos = 36;
  for (let i = 0; i < 50; i++) {
    const total = dv.getUint32(pos, true);
    writeU64(dv, pos + 8, first + i);
    dv.setUint32(pos + 4, crc32c(batch, pos + 8, pos + total), true);
    pos += total;
  }
  writeReplicateHeader(dv, batch.length, 1, 1, first, 50);
}

const parser = new FrameParser(4 << 20, {
  frame(_type, _id, frame) {
    const r = decodeReplicate(frame);
    const scan = scanRecords(frame, r.recordsStart, frame.length, r.firstOffset, 1 << 20);
    if (!scan.ok) throw new Error(scan.problem);
    log.append(frame, r.recordsStart, frame.length, r.count);
    forward.send(frame);
  },
});

group("node path: receive -> check -> write -> forward, 50 x 100 B", () => {
  bench("one replication batch (renumbering included)", () => {
    renumber(log.endOffset);
    parser.push(batch);
  });
});

export async function cleanupNodePathBench(): Promise<void> {
  await log.close();
  fs.rmSync(root, { recursive: true, force: true });
}
