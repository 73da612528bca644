// A listener that cannot bind must say which one, where and why, in one line, and exit 2 (a config
// problem): before, a node printed "Failed to listen at 127.0.0.1" with neither port nor listener.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TCPSocketListener } from "bun";
import { freePort } from "../../src/cli/cluster-runner.ts";
import { runCliWithin } from "../helpers/cluster.ts";

let dir: string;
let squatter: TCPSocketListener<undefined>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "catena-listen-"));
  squatter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
});

afterAll(() => {
  squatter?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

function nodeConfig(name: string, busy: "frontend" | "replication" | "admin"): string {
  const port = (table: string) => (table === busy ? squatter.port : freePort());
  const file = join(dir, `${name}.toml`);
  writeFileSync(
    file,
    `[node]\nid = "${name}"\n[log]\ndir = "${join(dir, name)}"\n` +
      ["frontend", "replication", "admin"].map((t) => `[${t}]\nserver_addr = "127.0.0.1:${port(t)}"\n`).join("") +
      `[management]\nmanagement_server_addr = "127.0.0.1:${freePort()}"\n`,
  );
  return file;
}

for (const [table, listener] of [
  ["frontend", "client listener"],
  ["replication", "replication listener"],
  ["admin", "admin HTTP API"],
] as const) {
  test(`a node whose ${table}.server_addr is taken exits 2 naming the key, the address and the reason`, async () => {
    const config = nodeConfig(`node-${table}`, table);
    // A replica directory makes the node open a log (and start preparing its next segment) before
    // it listens.
    const chainDir = join(dir, `node-${table}`, "chain-1");
    mkdirSync(chainDir, { recursive: true });
    const r = await runCliWithin(["node", "--config", config], 5000);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    const last = lines[lines.length - 1];
    expect(last).toBe(`catena: ${config}: ${table}.server_addr: the ${listener} cannot listen at 127.0.0.1:${squatter.port}: the address is in use (another process listens there); stop that process or choose another port`);
    expect(r.stderr).not.toContain("    at ");
    // It closed the log it had opened: the next segment's half-prepared file is gone.
    expect(readdirSync(chainDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
}

test("a master whose server_addr is taken exits 2 naming the key, the address and the reason", async () => {
  const config = join(dir, "master.toml");
  writeFileSync(config, `[master]\nserver_addr = "127.0.0.1:${squatter.port}"\nstate_dir = "${join(dir, "master")}"\n`);
  const r = await runCliWithin(["master", "--config", config], 5000);
  expect(r.timedOut).toBe(false);
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines[lines.length - 1]).toBe(`catena: ${config}: master.server_addr: the master's HTTP API cannot listen at 127.0.0.1:${squatter.port}: the address is in use (another process listens there); stop that process or choose another port`);
  expect(r.stderr).not.toContain("    at ");
});
