// Limits against the compiled binary: a connection flood stays within limits.connections_max;
// connections that never say HELLO, go idle, or trickle a frame are closed and told why; a
// subscriber that stops reading is cut off with an ERROR saying so instead of growing the node's
// memory; a connection cannot have more than limits.pending_appends_max appends in flight.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { CatenaClient, fetchCluster } from "../../src/client/client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION } from "../../src/protocol/frame.ts";
import { FrameType, PeerKind, decodeError, encodeAppend, encodeHello, encodeSubscribe } from "../../src/protocol/messages.ts";
import { startTestCluster } from "../helpers/cluster.ts";
import { parsePrometheus, sampleOf } from "../helpers/prometheus.ts";
import { frames, rawExchange } from "../helpers/raw.ts";
import { waitUntil } from "../helpers/wait.ts";

const LIMITS = {
  connections_max: 20,
  handshake_timeout_ms: 300,
  idle_timeout_ms: 1000,
  frame_timeout_ms: 500,
  write_timeout_ms: 1000,
  pending_appends_max: 50,
  append_bytes_max: 16384,
  batch_bytes_max: 16416,
  read_bytes_max: 16416,
  frame_bytes_max: 65536,
  connection_queue_bytes_max: 65536,
};

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let client: CatenaClient;
let head: { host: string; port: number };
let tail: { host: string; port: number };
let admin: Record<string, string>;

const hello = () => encodeHello(1, { version: PROTOCOL_VERSION, kind: PeerKind.client, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "", token: "" });
/** A raw socket that records what it receives and whether the node closed it. */
async function openRaw(target: { host: string; port: number }) {
  const socket = net.connect(target.port, target.host);
  const raw = { socket, data: [] as Buffer[], closed: false, received: () => Buffer.concat(raw.data) };
  socket.on("data", (d: Buffer) => raw.data.push(d));
  socket.on("close", () => (raw.closed = true));
  socket.on("error", () => {});
  await new Promise<void>((resolve) => {
    socket.on("connect", resolve);
    socket.on("close", resolve);
  });
  return raw;
}

const errorsIn = (buf: Buffer) => frames(buf).filter((f) => f.type === FrameType.error).map((f) => decodeError(f.frame));

beforeAll(async () => {
  cluster = await startTestCluster({ nodeLimits: LIMITS });
  client = await CatenaClient.connect({ master: cluster.masterUrl });
  await client.append("first");
  const doc = await fetchCluster(cluster.masterUrl);
  const at = (id: string, which: "clientAddr" | "adminAddr") => doc.nodes.find((n) => n.id === id)![which];
  const [hh, hp] = at("head", "clientAddr").split(":");
  const [th, tp] = at("tail", "clientAddr").split(":");
  head = { host: hh, port: Number(hp) };
  tail = { host: th, port: Number(tp) };
  admin = Object.fromEntries(["head", "tail"].map((id) => [id, `http://${at(id, "adminAddr")}`]));
}, 60_000);

afterAll(async () => {
  client?.close();
  await cluster?.cleanup();
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const node = labels.node ?? "head";
  return sampleOf(parsePrometheus(await (await fetch(`${admin[node]}/metrics`)).text()), name, { ...labels, node });
}

describe("connections", () => {
  test("a flood of 100 connections: at most connections_max are served, the rest are told why; then a client still works", async () => {
    const sockets: { socket: net.Socket; data: Buffer[]; closed: boolean }[] = [];
    await Promise.all(
      Array.from({ length: 100 }, () => new Promise<void>((resolve) => {
        const entry = { socket: net.connect(head.port, head.host), data: [] as Buffer[], closed: false };
        entry.socket.on("connect", () => {
          entry.socket.write(hello());
          resolve();
        });
        entry.socket.on("data", (d: Buffer) => entry.data.push(d));
        entry.socket.on("close", () => {
          entry.closed = true;
          resolve();
        });
        entry.socket.on("error", () => {});
        sockets.push(entry);
      })),
    );
    const refused = () => sockets.filter((s) => s.closed && errorsIn(Buffer.concat(s.data)).some((e) => e.code === ErrorCode.overloaded && /connections_max/.test(e.message)));
    // Every connection past the limit is told why; the test's own client holds one or two more.
    await waitUntil(() => refused().length >= 100 - LIMITS.connections_max, { timeoutMs: 10_000, what: `fewer than ${100 - LIMITS.connections_max} of 100 connections were refused`, lastSeen: () => `${refused().length} refused` });
    expect(sockets.filter((s) => !s.closed).length).toBeLessThanOrEqual(LIMITS.connections_max);
    expect(await metric("catena_connections", { listener: "client" })).toBeLessThanOrEqual(LIMITS.connections_max);
    expect(await metric("catena_connections_refused_total", { listener: "client", reason: "full" })).toBeGreaterThanOrEqual(100 - LIMITS.connections_max);
    for (const s of sockets) s.socket.destroy();
    // The head has let go of the flood: no more than the test client's own connections are left.
    await waitUntil(async () => (await metric("catena_connections", { listener: "client" })) <= 2, { timeoutMs: 10_000, what: "the head did not close the flood's connections" });
    expect(typeof (await client.append("after the flood"))).toBe("number");
  }, 30_000);

  test("no HELLO within handshake_timeout_ms: closed with timedOut", async () => {
    const r = await rawExchange(head, [], { waitMs: 5000 });
    expect(r.closed).toBe(true);
    const errors = errorsIn(r.received);
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.timedOut]);
    expect(errors[0].message).toContain("handshake_timeout_ms");
  });

  test("a HELLO trickled one byte at a time (slowloris) is cut off by the handshake timeout", async () => {
    const bytes = hello();
    const raw = await openRaw(head);
    // One byte every 100 ms: the whole HELLO would take longer than the handshake timeout.
    expect(bytes.length * 100).toBeGreaterThan(LIMITS.handshake_timeout_ms * 2);
    for (let i = 0; i < bytes.length && !raw.closed; i++) {
      raw.socket.write(bytes.subarray(i, i + 1));
      await Bun.sleep(100);
    }
    await waitUntil(() => raw.closed, { timeoutMs: 5000, what: "the node did not close a connection trickling its HELLO" });
    expect(errorsIn(raw.received()).map((e) => e.code)).toEqual([ErrorCode.timedOut]);
    raw.socket.destroy();
  });

  test("after HELLO, a frame trickled one byte at a time is cut off by frame_timeout_ms", async () => {
    const frame = encodeAppend(2, { chainId: 1, clientId: 77, firstRequestId: 1, payloads: [new Uint8Array(100)] });
    const raw = await openRaw(head);
    raw.socket.write(hello());
    // Each byte resets the idle clock but not the frame's.
    expect(frame.length * 50).toBeGreaterThan(LIMITS.frame_timeout_ms * 2);
    for (let i = 0; i < frame.length && !raw.closed; i++) {
      raw.socket.write(frame.subarray(i, i + 1));
      await Bun.sleep(50);
    }
    await waitUntil(() => raw.closed, { timeoutMs: 5000, what: "the node did not close a connection trickling a frame" });
    const errors = errorsIn(raw.received());
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.timedOut]);
    expect(errors[0].message).toContain("frame_timeout_ms");
    raw.socket.destroy();
  });

  test("an idle connection is closed after idle_timeout_ms; one with a subscription is not; the client library reconnects", async () => {
    const doc = await fetchCluster(cluster.masterUrl);
    // The subscriber connects first, so its last frame is older than the idle connection's: the
    // sweep that closes the idle connection would close the subscriber too, were it not exempt.
    const subscriber = await openRaw(tail);
    subscriber.socket.write(hello());
    subscriber.socket.write(encodeSubscribe(2, { chainId: doc.chains[0].chainId, from: 0 }));
    const idle = await rawExchange(tail, [hello()], { waitMs: 10_000 });
    expect(idle.closed).toBe(true);
    const errors = errorsIn(idle.received);
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.timedOut]);
    expect(errors[0].message).toContain("idle_timeout_ms");
    expect(subscriber.closed).toBe(false);
    // The test's client has been idle as long: its head connection is closed, and it reconnects.
    await waitUntil(async () => (await metric("catena_connections", { listener: "client" })) === 0, { timeoutMs: 10_000, what: "the head did not close the test client's idle connection" });
    const offset = await client.append("after idling");
    // The subscriber outlived the sweep: it is still served, and gets the new entry.
    await waitUntil(() => subscriber.received().includes("after idling"), { timeoutMs: 10_000, what: `the subscriber did not receive the entry at ${offset}` });
    expect(subscriber.closed).toBe(false);
    subscriber.socket.destroy();
  });
});

describe("appends and queues", () => {
  test("more than pending_appends_max appends in flight on one connection are refused with overloaded", async () => {
    const doc = await fetchCluster(cluster.masterUrl);
    const chainId = doc.chains[0].chainId;
    const many = encodeAppend(2, { chainId, clientId: 4711, firstRequestId: 1, payloads: Array.from({ length: LIMITS.pending_appends_max + 1 }, () => new Uint8Array(8)) });
    const raw = await openRaw(head);
    raw.socket.write(hello());
    raw.socket.write(many);
    const errors = await waitUntil(() => errorsIn(raw.received()).length > 0 && errorsIn(raw.received()), { timeoutMs: 10_000, what: "the head did not refuse the appends" });
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.overloaded]);
    expect(errors[0].message).toContain("pending_appends_max");
    // The limit is per connection and the connection stays open: a smaller append goes through.
    // (Its APPEND_OK goes to a WATCH_ACKS connection on the tail; here it is read back instead.)
    const before = (await client.latest()).commitEnd;
    raw.socket.write(encodeAppend(3, { chainId, clientId: 4712, firstRequestId: 1, payloads: [new TextEncoder().encode("under the limit")] }));
    await waitUntil(async () => (await client.latest()).commitEnd > before, { timeoutMs: 10_000, what: "a small append on the same connection was not committed", lastSeen: () => JSON.stringify(errorsIn(raw.received())) });
    const page = await client.read(before, { maxEntries: 10 });
    expect(page.entries.map((e) => new TextDecoder().decode(e.payload))).toEqual(["under the limit"]);
    expect(errorsIn(raw.received()).length).toBe(1);
    expect(raw.closed).toBe(false);
    raw.socket.destroy();
  });

  test("appends the client packed past the head's append_bytes_max go again one by one, and each is written once", async () => {
    // 100 appends of 300 B made in one job: the client packs them into one frame of about 33 KB,
    // under its own 64 KiB cap but over this head's append_bytes_max (16 KiB). The head refuses it
    // with appendTooLarge; the client sends each append alone, the head refuses half of them as
    // overloaded (pending_appends_max 50), and the resend loop sends those again.
    const packer = await CatenaClient.connect({ master: cluster.masterUrl, resendAfterMs: 200 });
    try {
      const payloads = Array.from({ length: 100 }, (_, i) => new TextEncoder().encode(`packed-${i}-`.padEnd(300, "x")));
      const offsets = await Promise.all(payloads.map((p) => packer.append(p)));
      expect(new Set(offsets).size).toBe(100);
      const latest = await packer.latest();
      const seen = new Map<string, number>();
      for (let from = latest.startOffset; from < latest.commitEnd; ) {
        const got = await packer.read(from, { maxEntries: 1000 });
        for (const e of got.entries) {
          const text = new TextDecoder().decode(e.payload);
          if (text.startsWith("packed-")) seen.set(text, (seen.get(text) ?? 0) + 1);
        }
        from = got.entries.length > 0 ? got.entries[got.entries.length - 1].offset + 1 : latest.commitEnd;
      }
      expect(seen.size).toBe(100);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      // Each append resolved with the offset its own payload is at.
      const at = await packer.read(offsets[57], { maxEntries: 1 });
      expect(new TextDecoder().decode(at.entries[0].payload)).toBe(new TextDecoder().decode(payloads[57]));
    } finally {
      packer.close();
    }
  });

  test("a subscriber that stops reading is cut off and told why; the node goes on", async () => {
    const doc = await fetchCluster(cluster.masterUrl);
    const chainId = doc.chains[0].chainId;
    const latest = await client.latest();
    const raw = await openRaw(tail);
    const socket = raw.socket;
    socket.write(hello());
    socket.write(encodeSubscribe(2, { chainId, from: latest.commitEnd }));
    await waitUntil(() => frames(raw.received()).some((f) => f.type === FrameType.helloOk), { timeoutMs: 10_000, what: "the tail did not answer HELLO" });
    socket.pause();
    // More than the kernel's socket buffers and the 64 KiB queue hold, until the node gives up on
    // the subscriber (its feed pauses while the queue is full, so memory stays bounded meanwhile).
    const payload = new Uint8Array(16000);
    const cutOff = () => metric("catena_connections_refused_total", { node: "tail", listener: "client", reason: "write_timeout" });
    for (let round = 0; round < 60 && (await cutOff()) === 0; round++) {
      await Promise.all(Array.from({ length: 50 }, () => client.append(payload)));
      if (round >= 20) await Bun.sleep(200);
    }
    expect(await cutOff()).toBe(1);
    socket.resume();
    await waitUntil(() => raw.closed, { timeoutMs: 20_000, what: "the cut-off subscriber's connection was not closed" });
    const received = raw.received();
    // Whole frames up to the cut, and the last one says why.
    const all = frames(received);
    const last = all.at(-1)!;
    expect(last.type).toBe(FrameType.error);
    const err = decodeError(last.frame);
    expect(err.code).toBe(ErrorCode.overloaded);
    expect(err.message).toContain("write_timeout_ms");
    expect(all.length).toBeGreaterThan(1);
    expect(all.every((f) => f.frame.length >= FRAME_HEADER_BYTES)).toBe(true);
    // Everyone else is served.
    expect(typeof (await client.append("after the slow subscriber"))).toBe("number");
    socket.destroy();
  }, 60_000);
});
