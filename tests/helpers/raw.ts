// Raw protocol access for tests that play a misbehaving or hostile peer: open a socket (plain or
// TLS), write frames, collect what comes back until the node closes the connection.

import { FRAME_HEADER_BYTES } from "../../src/protocol/frame.ts";
import { REPLICATE_HEADER_BYTES, writeReplicateHeader } from "../../src/protocol/messages.ts";
import { RECORD_HEADER_BYTES, allocate, encodeRecordInto } from "../../src/protocol/record.ts";

export interface RawTls {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

export interface RawResult {
  received: Buffer;
  /** The node closed the connection (or it failed) before the wait ended. */
  closed: boolean;
  /** The connection could not be set up at all (refused, TLS handshake failed). */
  connectError: string | null;
}

/** Opens a socket, writes `bytes`, and collects what comes back until the peer closes or `waitMs` passes. */
export async function rawExchange(target: { host: string; port: number }, bytes: Uint8Array[], opts: { tls?: RawTls; waitMs?: number } = {}): Promise<RawResult> {
  const chunks: Buffer[] = [];
  let closed = false;
  const done = Promise.withResolvers<void>();
  // Writes made before the TLS handshake ends are not sent: wait for it (or for the refusal).
  const handshake = Promise.withResolvers<void>();
  let socket;
  try {
    socket = await Bun.connect({
      hostname: target.host,
      port: target.port,
      ...(opts.tls ? { tls: { ...opts.tls, rejectUnauthorized: false } } : {}),
      socket: {
        handshake() {
          handshake.resolve();
        },
        data(_s, d) {
          chunks.push(Buffer.from(d));
        },
        close() {
          closed = true;
          done.resolve();
          handshake.resolve();
        },
        error() {
          closed = true;
          done.resolve();
          handshake.resolve();
        },
      },
    });
  } catch (e) {
    return { received: Buffer.alloc(0), closed: true, connectError: (e as Error).message };
  }
  if (opts.tls) await Promise.race([handshake.promise, Bun.sleep(opts.waitMs ?? 3000)]);
  for (const b of bytes) if (!closed) socket.write(b);
  await Promise.race([done.promise, Bun.sleep(opts.waitMs ?? 3000)]);
  const closedByPeer = closed; // end() below may call close() at once
  socket.end();
  return { received: Buffer.concat(chunks), closed: closedByPeer, connectError: null };
}

/** Splits a byte stream into frames (type and whole frame bytes). */
export function frames(buf: Buffer): { type: number; frame: Uint8Array }[] {
  const out = [];
  let pos = 0;
  while (pos + FRAME_HEADER_BYTES <= buf.length) {
    const size = buf.readUInt32LE(pos);
    if (size < FRAME_HEADER_BYTES || pos + size > buf.length) break;
    out.push({ type: buf[pos + 4], frame: new Uint8Array(buf.subarray(pos, pos + size)) });
    pos += size;
  }
  return out;
}

/** A REPLICATE frame holding `payloads` at offsets from `first`, as a predecessor would send it. */
export function replicateFrame(chainId: number, epoch: number, first: number, payloads: Uint8Array[]): Uint8Array {
  const recordBytes = payloads.reduce((n, p) => n + RECORD_HEADER_BYTES + p.length, 0);
  const { bytes, dv } = allocate(REPLICATE_HEADER_BYTES + recordBytes);
  let pos = REPLICATE_HEADER_BYTES;
  payloads.forEach((p, i) => {
    pos = encodeRecordInto(bytes, dv, pos, first + i, 999, 1 + i, p);
  });
  writeReplicateHeader(dv, bytes.length, chainId, epoch, first, payloads.length);
  return bytes;
}

/** Runs `task` `count` times, `parallel` at a time; returns every result. */
export async function repeat<T>(count: number, parallel: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}
