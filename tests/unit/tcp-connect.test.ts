// connect() gives up after its timeout, whatever holds it (here a TLS handshake the server never
// answers), and closes a connection that completes after the caller gave up.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "../../src/transport/tcp.ts";

function testCa(): string {
  const dir = mkdtempSync(join(tmpdir(), "catena-ca-"));
  try {
    Bun.spawnSync(["bash", resolve(import.meta.dir, "../../scripts/dev-certs.sh"), dir, "x"]);
    return readFileSync(join(dir, "ca.crt"), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("connect rejects after its timeout when the peer never completes the handshake", async () => {
  let accepted = 0;
  let closed = 0;
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        accepted++;
      },
      data() {},
      close() {
        closed++;
      },
    },
  });
  try {
    const started = performance.now();
    const attempt = connect({ host: "127.0.0.1", port: server.port }, { frameBytesMax: 1 << 20, queueBytesMax: 1 << 20 }, { frame() {}, failed() {}, closed() {} }, { ca: testCa() }, 300);
    await expect(attempt).rejects.toThrow(/within \d+ ms/);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(accepted).toBe(1);
    // The abandoned socket does not stay open.
    const deadline = performance.now() + 6000;
    while (closed === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(closed).toBe(1);
  } finally {
    server.stop(true);
  }
}, 15_000);
