// NATS JetStream: a 3-server cluster of Debian's nats-server on 127.0.0.1 (one store directory
// each, cluster routes on loopback), a file-backed stream with 3 replicas, and C client
// connections each keeping R `js.publish` calls in flight — each resolves on the stream's PubAck.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { runLoad, type LoadShape, type Result } from "./load.ts";
import { freePorts, start, stop, waitFor, withTimeout, type Started } from "./procs.ts";

export const NATS_BIN = "/usr/sbin/nats-server";
const STREAM = "BENCH";
const SUBJECT = "bench.append";

export async function natsVersion(): Promise<string> {
  const p = Bun.spawn([NATS_BIN, "--version"], { stdout: "pipe", stderr: "pipe" });
  return (await new Response(p.stdout).text()).trim();
}

export async function runNats(shape: LoadShape, dir: string, log: (s: string) => void): Promise<Result> {
  const ports = freePorts(9);
  const servers = [0, 1, 2].map((i) => ({ name: `n${i + 1}`, client: ports[i], route: ports[3 + i], http: ports[6 + i] }));
  const procs: Started[] = [];
  const conns: NatsConnection[] = [];
  try {
    for (const s of servers) {
      const store = join(dir, s.name);
      mkdirSync(store, { recursive: true });
      const routes = servers.map((o) => `nats-route://127.0.0.1:${o.route}`).join(", ");
      const conf = [
        `server_name: ${s.name}`,
        `listen: 127.0.0.1:${s.client}`,
        `http: 127.0.0.1:${s.http}`,
        `jetstream { store_dir: "${store}", max_memory_store: 256MB, max_file_store: 20GB }`,
        `cluster { name: bench, listen: 127.0.0.1:${s.route}, routes: [${routes}] }`,
        "",
      ].join("\n");
      const confPath = join(dir, `${s.name}.conf`);
      writeFileSync(confPath, conf);
      procs.push(start(`nats ${s.name}`, [NATS_BIN, "-c", confPath], join(dir, `${s.name}.log`)));
    }
    // Ready when every server reports JetStream healthy (meta leader elected, routes up).
    for (const s of servers) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${s.http}/healthz?js-enabled-only=true`)).ok, 20_000, `nats ${s.name} did not become healthy`, procs);
    }
    const admin = await connect({ servers: servers.map((s) => `127.0.0.1:${s.client}`), name: "compare-admin" });
    conns.push(admin);
    const jsm = await jetstreamManager(admin, { checkAPI: false, timeout: 5000 });
    await waitFor(
      async () => {
        await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], num_replicas: 3, storage: StorageType.File });
        return true;
      },
      20_000,
      "could not create the R3 stream",
      procs,
    );
    // Clients connect to the stream leader's server (as catena's clients talk to the head): the
    // best case for JetStream, with no extra hop for the publish.
    let leader = "";
    await waitFor(
      async () => {
        leader = (await jsm.streams.info(STREAM)).cluster?.leader ?? "";
        return leader !== "";
      },
      10_000,
      "the stream has no leader",
      procs,
    );
    const target = servers.find((s) => s.name === leader) ?? servers[0];
    log(`nats: 3 servers up, stream ${STREAM} R3 leader ${leader}; clients → 127.0.0.1:${target.client}`);
    const clients = [];
    for (let i = 0; i < shape.clients; i++) {
      const nc = await connect({ servers: `127.0.0.1:${target.client}`, name: `compare-${i}`, noRandomize: true });
      conns.push(nc);
      const js = jetstream(nc, { timeout: 10_000 });
      clients.push({ op: (payload: Uint8Array) => js.publish(SUBJECT, payload) });
    }
    return await runLoad(shape, clients);
  } finally {
    await Promise.all(conns.map((c) => withTimeout(c.close(), 3000, "nats close").catch(() => {})));
    await stop(procs);
  }
}
