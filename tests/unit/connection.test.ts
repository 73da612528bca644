import { expect, test } from "bun:test";
import type { Socket } from "bun";
import fc from "fast-check";
import { Connection } from "../../src/transport/connection.ts";

/** A socket that takes at most `room` bytes per write, as a full kernel buffer does. */
class FakeSocket {
  /** Every buffer handed to write, and the bytes of it taken. */
  readonly writes: Uint8Array[] = [];
  readonly taken: number[] = [];
  constructor(private readonly room: () => number) {}
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.room());
    this.writes.push(bytes);
    this.taken.push(n);
    return n;
  }
  end(): void {}
  terminate(): void {}
}

function frame(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 131 + i) & 0xff;
  return bytes;
}

function open(socket: FakeSocket): Connection {
  const handler = { frame() {}, failed() {}, closed() {} };
  return new Connection(socket as unknown as Socket<unknown>, { frameBytesMax: 1 << 24, queueBytesMax: 1 << 26 }, handler);
}

test("what was queued reaches the socket in order and whole, however the socket cuts the writes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 200_000, max: 700_000 })), { minLength: 1, maxLength: 12 }),
      fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 8 }),
      async (sizes, someRooms) => {
        const rooms = [...someRooms, 100_000]; // a socket that never takes anything never drains
        let turn = 0;
        const socket = new FakeSocket(() => rooms[turn++ % rooms.length]);
        const conn = open(socket);
        const frames = sizes.map((size, i) => frame(size, i));
        for (const f of frames) conn.send(f);
        await Promise.resolve(); // the flush runs once the current job ends
        for (let drains = 0; conn.queuedBytes > 0 && drains < 10_000; drains++) conn.drain();
        expect(conn.queuedBytes).toBe(0);
        // The stream the peer gets: what each write call took.
        const stream = Buffer.concat(socket.writes.map((w, i) => w.subarray(0, socket.taken[i])));
        const expected = Buffer.concat(frames);
        expect(stream.length).toBe(expected.length);
        expect(stream.equals(expected)).toBe(true);
      },
    ),
    { numRuns: 60 },
  );
});

test("small frames are gathered into one write; a large frame is written as it is, not copied", async () => {
  const socket = new FakeSocket(() => Infinity);
  const conn = open(socket);
  const small = [frame(100, 1), frame(200, 2), frame(300, 3)];
  const large = frame(1 << 20, 4);
  for (const f of small) conn.send(f);
  conn.send(large);
  await Promise.resolve();
  expect(socket.writes.length).toBe(2);
  expect(socket.writes[0].length).toBe(600);
  expect(socket.writes[1]).toBe(large);
});
