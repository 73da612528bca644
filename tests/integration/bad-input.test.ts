// Bad input against the compiled binary: a malformed, oversized or unknown frame closes only that
// connection, with an ERROR frame; everyone else is served; nothing is written. Oversized appends
// and reads outside the log get explicit errors.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { CatenaClient, fetchCluster } from "../../src/client/client.ts";
import { CatenaError, ErrorCode } from "../../src/protocol/errors.ts";
import { FRAME_HEADER_BYTES, PROTOCOL_VERSION, writeFrameHeader } from "../../src/protocol/frame.ts";
import { FrameType, PeerKind, decodeError, encodeHello } from "../../src/protocol/messages.ts";
import { dataView } from "../../src/protocol/record.ts";
import { startTestCluster } from "../helpers/cluster.ts";

let cluster: Awaited<ReturnType<typeof startTestCluster>>;
let client: CatenaClient;

beforeAll(async () => {
  cluster = await startTestCluster();
  client = await CatenaClient.connect({ master: cluster.masterUrl });
  for (let i = 0; i < 10; i++) await client.append(`entry-${i}`);
});

afterAll(async () => {
  client?.close();
  await cluster?.cleanup();
});

async function address(role: "head" | "tail", port: "clientAddr" | "replicationAddr") {
  const doc = await fetchCluster(cluster.masterUrl);
  const [host, p] = doc.nodes.find((n) => n.id === role)![port].split(":");
  return { host, port: Number(p) };
}

/** Opens a raw socket, writes `bytes`, collects what comes back until the node closes it. */
async function rawExchange(target: { host: string; port: number }, bytes: Uint8Array[]): Promise<{ received: Buffer; closed: boolean }> {
  const chunks: Buffer[] = [];
  let closed = false;
  const done = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: target.host,
    port: target.port,
    socket: {
      data(_s, d) {
        chunks.push(Buffer.from(d));
      },
      close() {
        closed = true;
        done.resolve();
      },
      error() {
        closed = true;
        done.resolve();
      },
    },
  });
  for (const b of bytes) socket.write(b);
  await Promise.race([done.promise, Bun.sleep(3000)]);
  socket.end();
  return { received: Buffer.concat(chunks), closed };
}

function frames(buf: Buffer): { type: number; frame: Uint8Array }[] {
  const out = [];
  let pos = 0;
  while (pos + FRAME_HEADER_BYTES <= buf.length) {
    const size = buf.readUInt32LE(pos);
    out.push({ type: buf[pos + 4], frame: new Uint8Array(buf.subarray(pos, pos + size)) });
    pos += size;
  }
  return out;
}

function header(size: number, type: number): Uint8Array {
  const b = new Uint8Array(FRAME_HEADER_BYTES);
  writeFrameHeader(dataView(b), 0, size, type, 7);
  return b;
}

const hello = encodeHello(1, { version: PROTOCOL_VERSION, kind: PeerKind.client, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "", token: "" });

async function expectStillServing(): Promise<void> {
  const before = await client.latest();
  const offset = await client.append("still-serving");
  expect(offset).toBe(before.commitEnd);
}

for (const [what, bytes, code] of [
  ["garbage before any HELLO", [new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n")], null],
  ["a frame shorter than its header", [hello, header(5, FrameType.append)], ErrorCode.badFrame],
  ["an oversized frame", [hello, header(0x7fff_ffff, FrameType.append)], ErrorCode.frameTooLarge],
  ["an unknown frame type", [hello, header(FRAME_HEADER_BYTES, 0x6e)], ErrorCode.unknownFrameType],
  ["a truncated append body", [hello, header(FRAME_HEADER_BYTES + 3, FrameType.append), new Uint8Array(3)], ErrorCode.badFrame],
  ["a wrong protocol version", [encodeHello(1, { version: 99, kind: PeerKind.client, chainId: 0, epoch: 0, commitEnd: 0, nodeId: "", token: "" })], ErrorCode.unsupportedVersion],
] as const) {
  test(`client port: ${what} gets an ERROR frame and only that connection closes`, async () => {
    const head = await address("head", "clientAddr");
    const before = await client.latest();
    const { received, closed } = await rawExchange(head, bytes as unknown as Uint8Array[]);
    expect(closed).toBe(true);
    const errors = frames(received).filter((f) => f.type === FrameType.error);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    if (code !== null) expect(decodeError(errors[errors.length - 1].frame).code).toBe(code);
    expect((await client.latest()).logEnd).toBe(before.logEnd);
    await expectStillServing();
  });
}

test("replication port: garbage and a HELLO from a stranger are refused; the chain keeps replicating", async () => {
  const middle = await (async () => {
    const doc = await fetchCluster(cluster.masterUrl);
    const [host, p] = doc.nodes.find((n) => n.id === "middle")!.replicationAddr.split(":");
    return { host, port: Number(p) };
  })();
  const garbage = await rawExchange(middle, [new Uint8Array(64).fill(0xff)]);
  expect(garbage.closed).toBe(true);
  const stranger = encodeHello(1, { version: PROTOCOL_VERSION, kind: PeerKind.replication, chainId: 1, epoch: 1_000_000, commitEnd: 0, nodeId: "intruder", token: "" });
  const refused = await rawExchange(middle, [stranger]);
  expect(frames(refused.received).some((f) => f.type === FrameType.error)).toBe(true);
  await expectStillServing();
});

test("an append over the size limit is refused with a clear error and nothing is written", async () => {
  const before = await client.latest();
  const err = await client.append(new Uint8Array(1_100_000)).catch((e) => e);
  expect(err).toBeInstanceOf(CatenaError);
  expect((err as CatenaError).code).toBe(ErrorCode.appendTooLarge);
  expect((err as CatenaError).message).toContain("exceeds the limit");
  expect((await client.latest()).logEnd).toBe(before.logEnd);
  await expectStillServing();
});

test("a read outside the log gets an error carrying the valid range", async () => {
  const { commitEnd } = await client.latest();
  const err = await client.read(commitEnd + 100).catch((e) => e);
  expect(err).toBeInstanceOf(CatenaError);
  expect((err as CatenaError).code).toBe(ErrorCode.offsetOutOfRange);
  expect((err as CatenaError).rangeStart).toBe(0);
  expect((err as CatenaError).rangeEnd).toBe(commitEnd);
  const atEnd = await client.read(commitEnd);
  expect(atEnd.entries.length).toBe(0);
});

test("a retried append (same clientId and requestId) is written once and returns the original offset", async () => {
  const first = await CatenaClient.connect({ master: cluster.masterUrl, clientId: 424242 });
  const offset = await first.append("once");
  first.close();
  // A new client object with the same identity restarts request ids at 1: a retry of request 1.
  const retry = await CatenaClient.connect({ master: cluster.masterUrl, clientId: 424242 });
  expect(await retry.append("once")).toBe(offset);
  retry.close();
  const { commitEnd } = await client.latest();
  const page = await client.read(offset, { maxEntries: commitEnd - offset });
  expect(page.entries.filter((e) => new TextDecoder().decode(e.payload) === "once").length).toBe(1);
});
