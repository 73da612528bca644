// The node's side of membership against a stand-in master (Bun.serve on loopback): the lease is
// renewed only once the layout is applied, and the node heartbeats at the master's period.

import { afterEach, expect, test } from "bun:test";
import { parseNodeConfig } from "../../src/config/index.ts";
import { MasterLink } from "../../src/node/master-link.ts";
import { createLogger } from "../../src/util/logger.ts";

const servers: { stop(force?: boolean): void }[] = [];
const links: MasterLink[] = [];
afterEach(() => {
  for (const l of links.splice(0)) l.stop();
  for (const s of servers.splice(0)) s.stop(true);
});

function fakeMaster(answer: { leaseMs: number; heartbeatMs: number }) {
  const seen = { joins: 0, heartbeats: 0 };
  const layout = { chainId: 1, epoch: 3, members: [{ id: "a", clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2" }], syncing: null };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      if (new URL(req.url).pathname.endsWith("/join")) seen.joins++;
      else seen.heartbeats++;
      return Response.json({ ...answer, chains: [layout] });
    },
  });
  servers.push(server);
  return { port: server.port!, seen };
}

function link(masterPort: number, heartbeatMs: number, layouts: () => Promise<void>): MasterLink {
  const config = parseNodeConfig(
    `[node]\nid = "a"\n[log]\ndir = "/tmp/unused"\n[frontend]\nserver_addr = "127.0.0.1:0"\n[replication]\nserver_addr = "127.0.0.1:0"\n[admin]\nserver_addr = "127.0.0.1:0"\n[management]\nmanagement_server_addr = "127.0.0.1:${masterPort}"\nheartbeat_ms = ${heartbeatMs}\n`,
    "test.toml",
  );
  const l = new MasterLink(config, { clientAddr: "127.0.0.1:1", replicationAddr: "127.0.0.1:2", adminAddr: "127.0.0.1:3" }, { reports: () => [], layouts }, createLogger({ node: "a" }, { write: () => {} }));
  links.push(l);
  l.start();
  return l;
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await Bun.sleep(5);
  }
}

test("a node whose layout could not be applied holds no lease", async () => {
  const master = fakeMaster({ leaseMs: 400, heartbeatMs: 100 });
  let attempts = 0;
  const l = link(master.port, 100, async () => {
    attempts++;
    throw new Error("the replica would not open");
  });
  await until(() => attempts >= 3, "three answers applied");
  expect(l.hasLease()).toBe(false);
});

test("the lease is renewed once the layout is applied", async () => {
  const master = fakeMaster({ leaseMs: 400, heartbeatMs: 100 });
  let applied = 0;
  const l = link(master.port, 100, async () => {
    applied++;
  });
  await until(() => applied >= 1 && l.hasLease(), "a lease after the first layout");
});

test("a node configured to heartbeat slower than the master's lease adopts the master's period and keeps its lease", async () => {
  // The node's own heartbeat_ms (1000) is longer than the master's lease (300): at its own period
  // the lease would lapse between beats.
  const master = fakeMaster({ leaseMs: 300, heartbeatMs: 50 });
  const l = link(master.port, 1000, async () => {});
  await until(() => l.hasLease(), "a first lease");
  const heartbeatsBefore = master.seen.heartbeats;
  // Every reading over 1.2 s (four of the node's own periods' worth of the master's leases).
  for (let t = 0; t < 120; t++) {
    expect(l.hasLease()).toBe(true);
    await Bun.sleep(10);
  }
  expect(master.seen.heartbeats - heartbeatsBefore).toBeGreaterThan(2);
});
