// A head that stops being head answers the retries it was holding (duplicates waiting for their
// originals to commit) with notHead, so the client sends them to the new head. Left waiting, one
// could later be acknowledged at an offset this node's log no longer holds the same entry at.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNodeConfig } from "../../src/config/index.ts";
import { Log } from "../../src/log/log.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { FrameType, decodeError } from "../../src/protocol/messages.ts";
import { Replica } from "../../src/node/replica.ts";
import type { Connection } from "../../src/transport/connection.ts";
import { freePort } from "../../src/cli/cluster-runner.ts";
import { createLogger } from "../../src/util/logger.ts";

test("demotion answers held duplicates with notHead instead of leaving them waiting", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-demote-"));
  const sent: Uint8Array[] = [];
  const conn = { send: (b: Uint8Array) => (sent.push(b.slice()), true), isOpen: true, queuedBytes: 0 } as unknown as Connection;
  const log = await Log.open({ dir: join(dir, "chain-1"), segmentBytes: 1 << 20, indexIntervalBytes: 4096, recordBytesMax: 1 << 16, sync: "always", syncIntervalMs: 5 });
  const config = parseNodeConfig(
    `[node]\nid = "a"\n[log]\ndir = "${dir}"\nsegment_bytes = 1048576\n[limits]\nrecord_bytes_max = 65536\nbatch_bytes_max = 65536\n[frontend]\nserver_addr = "127.0.0.1:0"\n[replication]\nserver_addr = "127.0.0.1:0"\n[admin]\nserver_addr = "127.0.0.1:0"\n[management]\nmanagement_server_addr = "127.0.0.1:1"\n`,
    "test.toml",
  );
  const replica = new Replica(1, log, config, createLogger({ node: "a" }, { write: () => {} }), () => true);
  try {
    // Head of a -> b, where b never answers: nothing commits.
    const member = (id: string, port: number) => ({ id, clientAddr: { host: "127.0.0.1", port }, replicationAddr: { host: "127.0.0.1", port } });
    replica.applyLayout({ chainId: 1, epoch: 1, members: [member("a", freePort()), member("b", freePort())], syncing: null });
    const append = { chainId: 1, clientId: 7, firstRequestId: 1, payloads: [new TextEncoder().encode("x")] };
    replica.append(conn, 100, append);
    await Bun.sleep(0);
    await new Promise((r) => setImmediate(r)); // the batch is written on the next turn
    expect(log.endOffset).toBe(1);
    // The client retries (say after a timeout): the head holds it until the original commits.
    replica.append(conn, 101, append);
    expect(sent.length).toBe(0);
    replica.applyLayout({ chainId: 1, epoch: 2, members: [member("b", freePort())], syncing: null });
    const errors = sent.filter((b) => b[4] === FrameType.error).map((b) => ({ id: new DataView(b.buffer, b.byteOffset).getUint32(8, true), err: decodeError(b) }));
    expect(errors.map((e) => e.id)).toContain(101);
    expect(errors.find((e) => e.id === 101)!.err.code).toBe(ErrorCode.notHead);
  } finally {
    await replica.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a head whose log takes no writes refuses a batch before forwarding any of it, and says nothing was written", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-refuse-"));
  const sent: Uint8Array[] = [];
  const conn = { send: (b: Uint8Array) => (sent.push(b.slice()), true), isOpen: true, queuedBytes: 0 } as unknown as Connection;
  const log = await Log.open({ dir: join(dir, "chain-1"), segmentBytes: 1 << 20, indexIntervalBytes: 4096, recordBytesMax: 1 << 16, sync: "always", syncIntervalMs: 5 });
  const config = parseNodeConfig(
    `[node]\nid = "a"\n[log]\ndir = "${dir}"\nsegment_bytes = 1048576\n[limits]\nrecord_bytes_max = 65536\nbatch_bytes_max = 65536\n[frontend]\nserver_addr = "127.0.0.1:0"\n[replication]\nserver_addr = "127.0.0.1:0"\n[admin]\nserver_addr = "127.0.0.1:0"\n[management]\nmanagement_server_addr = "127.0.0.1:1"\n`,
    "test.toml",
  );
  const replica = new Replica(1, log, config, createLogger({ node: "a" }, { write: () => {} }), () => true);
  try {
    replica.applyLayout({ chainId: 1, epoch: 1, members: [{ id: "a", clientAddr: { host: "127.0.0.1", port: 1 }, replicationAddr: { host: "127.0.0.1", port: 1 } }], syncing: null });
    const closing = log.close();
    replica.append(conn, 5, { chainId: 1, clientId: 7, firstRequestId: 1, payloads: [new TextEncoder().encode("x")] });
    await new Promise((r) => setImmediate(r));
    await closing;
    const err = decodeError(sent.find((b) => b[4] === FrameType.error)!);
    expect(err.code).toBe(ErrorCode.unavailable);
    expect(err.message).toContain("so nothing was written");
    expect(replica.stats.batches).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
