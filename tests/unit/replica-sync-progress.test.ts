// A syncing node records the chain's commit end that its tail sends down (COMMIT), capped at what
// it holds, so that its next handshake (a reconnect, a new epoch) keeps the committed part of its
// copy instead of starting again from its old recorded commit end.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNodeConfig } from "../../src/config/index.ts";
import { Log } from "../../src/log/log.ts";
import { FrameType, PeerKind, REPLICATE_HEADER_BYTES, decodeHelloOk, decodeReplicate, writeReplicateHeader } from "../../src/protocol/messages.ts";
import { RECORD_HEADER_BYTES, allocate, encodeRecordInto } from "../../src/protocol/record.ts";
import { Replica } from "../../src/node/replica.ts";
import type { Connection } from "../../src/transport/connection.ts";
import { createLogger } from "../../src/util/logger.ts";

function batch(epoch: number, first: number, count: number): Uint8Array {
  const payload = new TextEncoder().encode("entry");
  const { bytes, dv } = allocate(REPLICATE_HEADER_BYTES + count * (RECORD_HEADER_BYTES + payload.length));
  let pos = REPLICATE_HEADER_BYTES;
  for (let i = 0; i < count; i++) pos = encodeRecordInto(bytes, dv, pos, first + i, 9, first + i + 1, payload);
  writeReplicateHeader(dv, bytes.length, 1, epoch, first, count);
  return bytes;
}

test("a syncing node records the commit end sent down to it, up to what it holds, and reports it at its next handshake", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-sync-progress-"));
  const sent: Uint8Array[] = [];
  const conn = { send: (b: Uint8Array) => (sent.push(b.slice()), true), close() {}, isOpen: true, queuedBytes: 0 } as unknown as Connection;
  const log = await Log.open({ dir: join(dir, "chain-1"), segmentBytes: 1 << 20, indexIntervalBytes: 4096, recordBytesMax: 1 << 16, sync: "none", syncIntervalMs: 5 });
  const config = parseNodeConfig(
    `[node]\nid = "s"\n[log]\ndir = "${dir}"\nsync = "none"\nsegment_bytes = 1048576\n[limits]\nrecord_bytes_max = 65536\nbatch_bytes_max = 65536\n[frontend]\nserver_addr = "127.0.0.1:0"\n[replication]\nserver_addr = "127.0.0.1:0"\n[admin]\nserver_addr = "127.0.0.1:0"\n[management]\nmanagement_server_addr = "127.0.0.1:1"\n`,
    "test.toml",
  );
  const replica = new Replica(1, log, config, createLogger({ node: "s" }, { write: () => {} }), () => true);
  const member = (id: string) => ({ id, clientAddr: { host: "127.0.0.1", port: 1 }, replicationAddr: { host: "127.0.0.1", port: 1 } });
  const helloFrom = (epoch: number) => ({ version: 1, kind: PeerKind.replication, chainId: 1, epoch, commitEnd: 0, nodeId: "t", token: "" });
  try {
    replica.applyLayout({ chainId: 1, epoch: 4, members: [member("h"), member("t")], syncing: member("s") });
    replica.acceptUpstream(conn, 1, helloFrom(4));
    for (const [first, count] of [[0, 10], [10, 10]]) {
      const frame = batch(4, first, count);
      replica.replicate(conn, frame, decodeReplicate(frame));
    }
    // The tail says the chain has committed 15, then 30 (more than this copy holds yet).
    replica.commitFromUpstream(conn, 4, 15);
    expect(replica.recordedCommit).toBe(15);
    replica.commitFromUpstream(conn, 4, 30);
    expect(replica.recordedCommit).toBe(20);
    // A COMMIT of another epoch is ignored.
    replica.commitFromUpstream(conn, 3, 50);
    const frame = batch(4, 20, 5);
    replica.replicate(conn, frame, decodeReplicate(frame));
    expect(replica.recordedCommit).toBe(25);
    // The next epoch's handshake: the predecessor hears commit end 25, so it keeps the copy to 25.
    replica.applyLayout({ chainId: 1, epoch: 5, members: [member("h"), member("t")], syncing: member("s") });
    sent.length = 0;
    replica.acceptUpstream(conn, 7, helloFrom(5));
    const helloOk = decodeHelloOk(sent.find((b) => b[4] === FrameType.helloOk)!);
    expect(helloOk).toMatchObject({ logEnd: 25, commitEnd: 25 });
  } finally {
    await replica.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
