// A replica whose log will not open is not remembered as failed for good: the next layout from the
// master tries again (the disk or directory may have been fixed meanwhile).

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseNodeConfig } from "../../src/config/index.ts";
import { StorageNode } from "../../src/node/node.ts";
import { createLogger } from "../../src/util/logger.ts";

test("a failed replica open is tried again on the next layout", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-open-"));
  try {
    const config = parseNodeConfig(
      `[node]\nid = "a"\n[log]\ndir = "${dir}"\n[frontend]\nserver_addr = "127.0.0.1:0"\n[replication]\nserver_addr = "127.0.0.1:0"\n[admin]\nserver_addr = "127.0.0.1:0"\n[management]\nmanagement_server_addr = "127.0.0.1:1"\n`,
      "test.toml",
    );
    const node = new StorageNode(config, createLogger({ node: "a" }, { write: () => {} }));
    const open = (node as unknown as { openReplica(chainId: number): Promise<{ chainId: number }> }).openReplica.bind(node);
    // A file where the chain's directory belongs: the log cannot open.
    writeFileSync(join(dir, "chain-1"), "not a directory");
    await expect(open(1)).rejects.toThrow();
    rmSync(join(dir, "chain-1"));
    const replica = await open(1);
    expect(replica.chainId).toBe(1);
    await node.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
