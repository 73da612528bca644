// The master warns when a node joins with record or batch limits other than another node's:
// a node refuses batches larger than its own limits, so a mismatch stalls the chain.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMasterConfig } from "../../src/config/index.ts";
import { Master } from "../../src/master/master.ts";
import { createLogger } from "../../src/util/logger.ts";

test("a node joining with other limits than a known node's raises a warning naming both", () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-master-"));
  try {
    const config = parseMasterConfig(`[master]\nserver_addr = "127.0.0.1:0"\nstate_dir = "${join(dir, "state")}"\n`, "test.toml");
    const master = new Master(config, createLogger({ role: "master" }, { write: () => {} }));
    const node = (id: string, port: number) => ({ id, clientAddr: `127.0.0.1:${port}`, replicationAddr: `127.0.0.1:${port + 1}`, adminAddr: `127.0.0.1:${port + 2}`, chains: [], sync: "always" });
    master.join({ ...node("a", 1000), limits: { recordBytesMax: 1048608, batchBytesMax: 1048608 } });
    master.join({ ...node("b", 2000), limits: { recordBytesMax: 1048608, batchBytesMax: 1048608 } });
    expect(master.events.filter((e) => e.kind === "warning")).toEqual([]);
    master.join({ ...node("c", 3000), limits: { recordBytesMax: 65568, batchBytesMax: 65568 } });
    const warnings = master.events.filter((e) => e.kind === "warning");
    expect(warnings.length).toBe(1);
    expect(warnings[0].message).toContain("node c has limits.record_bytes_max = 65568");
    expect(warnings[0].message).toContain("but node a has 1048608");
    master.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
