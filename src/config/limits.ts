// Every size, window and queue bound of a node, in one place. docs/configuration.md explains
// each one and the rules that tie them together.

import { RECORD_HEADER_BYTES } from "../protocol/record.ts";
import type { SectionReader } from "./schema.ts";
import { readSized } from "./sized.ts";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Room kept for a frame's header around a batch or a read reply, and for a segment's header. */
export const FRAME_HEADER_ROOM_BYTES = 64;
export const SEGMENT_HEADER_ROOM_BYTES = 64;
/** The smallest record worth allowing: a header and 32 bytes of payload. */
export const RECORD_BYTES_MIN = RECORD_HEADER_BYTES + 32;

export interface Limits {
  /** Any frame larger than this, in either direction, closes the connection. */
  readonly frameBytesMax: number;
  /** The payloads of one append request, in total. */
  readonly appendBytesMax: number;
  /** One record: header plus payload. Also caps a single payload at this minus the header. */
  readonly recordBytesMax: number;
  /** The head closes a replication batch before it would grow past this. */
  readonly batchBytesMax: number;
  /** Replication window: batches sent downstream and not yet acknowledged. */
  readonly inflightBatchesMax: number;
  /** Replication window in bytes. */
  readonly inflightBytesMax: number;
  /** The record bytes one read reply carries at most. */
  readonly readBytesMax: number;
  /** Outgoing bytes queued per connection before it is paused or cut off. */
  readonly connectionQueueBytesMax: number;
  /** Open connections per listener (client, replication); more are closed as they arrive. */
  readonly connectionsMax: number;
  /** Appends received on one client connection at the head and not yet committed. */
  readonly pendingAppendsMax: number;
  /** From TCP accept to a completed HELLO (TLS handshake included). */
  readonly handshakeTimeoutMs: number;
  /** A client connection that has sent no frame and waits for nothing this long is closed. */
  readonly idleTimeoutMs: number;
  /** A frame that has started to arrive must be complete within this. */
  readonly frameTimeoutMs: number;
  /** A peer that takes none of what is queued for it for this long is cut off. */
  readonly writeTimeoutMs: number;
}

export function readLimits(section: SectionReader): Limits {
  const appendBytesMax = readSized(section, "append_bytes_max", { range: { min: 1, max: GiB }, base: MiB });
  const recordBytesMax = readSized(section, "record_bytes_max", {
    range: { min: RECORD_BYTES_MIN, max: GiB },
    base: appendBytesMax + RECORD_HEADER_BYTES,
    baseText: `limits.append_bytes_max + ${RECORD_HEADER_BYTES}`,
  });
  const recordFloor = { text: "limits.record_bytes_max", value: recordBytesMax };
  const batchBytesMax = readSized(section, "batch_bytes_max", {
    range: { min: RECORD_BYTES_MIN, max: GiB },
    base: MiB,
    floors: [recordFloor],
  });
  const readBytesMax = readSized(section, "read_bytes_max", {
    range: { min: RECORD_BYTES_MIN, max: GiB },
    base: MiB,
    floors: [recordFloor],
  });
  const frameBytesMax = readSized(section, "frame_bytes_max", {
    range: { min: KiB, max: 2 * GiB },
    base: 4 * MiB,
    floors: [
      { text: `limits.batch_bytes_max + ${FRAME_HEADER_ROOM_BYTES}`, value: batchBytesMax + FRAME_HEADER_ROOM_BYTES },
      { text: `limits.read_bytes_max + ${FRAME_HEADER_ROOM_BYTES}`, value: readBytesMax + FRAME_HEADER_ROOM_BYTES },
    ],
  });
  const inflightBatchesMax = readSized(section, "inflight_batches_max", { range: { min: 1, max: 65536 }, base: 256 });
  const inflightBytesMax = readSized(section, "inflight_bytes_max", {
    range: { min: 1, max: 64 * GiB },
    base: 32 * MiB,
    floors: [{ text: "limits.batch_bytes_max", value: batchBytesMax }],
  });
  const connectionQueueBytesMax = readSized(section, "connection_queue_bytes_max", {
    range: { min: 1, max: 64 * GiB },
    base: 16 * MiB,
    floors: [{ text: "limits.frame_bytes_max", value: frameBytesMax }],
  });
  const connectionsMax = section.readInteger("connections_max", { min: 1, max: 1_000_000 }) ?? 1024;
  const pendingAppendsMax = section.readInteger("pending_appends_max", { min: 1, max: 16_777_216 }) ?? 65536;
  const handshakeTimeoutMs = section.readInteger("handshake_timeout_ms", { min: 10, max: 600_000 }) ?? 5000;
  const idleTimeoutMs = section.readInteger("idle_timeout_ms", { min: 100, max: 86_400_000 }) ?? 300_000;
  const frameTimeoutMs = section.readInteger("frame_timeout_ms", { min: 10, max: 600_000 }) ?? 10_000;
  const writeTimeoutMs = section.readInteger("write_timeout_ms", { min: 10, max: 3_600_000 }) ?? 30_000;
  return {
    writeTimeoutMs,
    connectionsMax,
    pendingAppendsMax,
    handshakeTimeoutMs,
    idleTimeoutMs,
    frameTimeoutMs,
    frameBytesMax,
    appendBytesMax,
    recordBytesMax,
    batchBytesMax,
    inflightBatchesMax,
    inflightBytesMax,
    readBytesMax,
    connectionQueueBytesMax,
  };
}
