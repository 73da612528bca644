// etcd: a 3-member cluster of Debian's etcd-server on 127.0.0.1 (one data directory each), and C
// clients each keeping R puts in flight. Every put writes a new key (`bench/<client>/<n>`) with the
// payload as its value, so the keyspace grows like a log; a put resolves on etcd's response, sent
// once the entry is committed by Raft (and applied).
//
// api "grpc" (default): one `etcd3` client (one gRPC channel, one HTTP/2 connection) per client,
// its R puts multiplexed on it — the same shape as the other systems.
// api "gateway": etcd's JSON gRPC-gateway (`POST /v3/kv/put`, base64 key and value) through
// fetch with keep-alive; Bun's fetch pools connections per host, so clients share connections.

import { mkdirSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { join } from "node:path";
import { runLoad, type LoadClient, type LoadShape, type Result } from "./load.ts";
import { freePorts, start, stop, waitFor, type Started } from "./procs.ts";

export const ETCD_BIN = "/usr/bin/etcd";

export async function etcdVersion(): Promise<string> {
  const p = Bun.spawn([ETCD_BIN, "--version"], { stdout: "pipe", stderr: "pipe" });
  return ((await new Response(p.stdout).text()).split("\n")[0] ?? "").trim();
}

interface Member {
  name: string;
  client: number;
  peer: number;
}

export async function startCluster(dir: string, procs: Started[]): Promise<Member[]> {
  const ports = freePorts(6);
  const members: Member[] = [0, 1, 2].map((i) => ({ name: `e${i + 1}`, client: ports[i], peer: ports[3 + i] }));
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  for (const m of members) {
    const data = join(dir, m.name);
    mkdirSync(data, { recursive: true });
    const args = [
      ETCD_BIN,
      `--name=${m.name}`,
      `--data-dir=${data}`,
      `--listen-client-urls=http://127.0.0.1:${m.client}`,
      `--advertise-client-urls=http://127.0.0.1:${m.client}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
      `--initial-cluster=${initial}`,
      "--initial-cluster-state=new",
      "--initial-cluster-token=catena-compare",
      "--quota-backend-bytes=8589934592",
      "--logger=zap",
      "--log-level=warn",
    ];
    procs.push(start(`etcd ${m.name}`, args, join(dir, `${m.name}.log`)));
  }
  for (const m of members) {
    await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${m.client}/health`);
        return r.ok && ((await r.json()) as { health?: string }).health === "true";
      },
      30_000,
      `etcd ${m.name} did not become healthy`,
      procs,
    );
  }
  return members;
}

/** The member that leads the Raft group (puts sent there need no forwarding). */
export async function leaderOf(members: Member[]): Promise<Member> {
  for (const m of members) {
    const r = await fetch(`http://127.0.0.1:${m.client}/v3/maintenance/status`, { method: "POST", body: "{}" });
    const s = (await r.json()) as { header?: { member_id?: string }; leader?: string };
    if (s.leader && s.header?.member_id === s.leader) return m;
  }
  return members[0];
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

export type EtcdApi = "grpc" | "gateway";

export async function runEtcd(shape: LoadShape, dir: string, log: (s: string) => void, api: EtcdApi = "grpc"): Promise<Result> {
  const procs: Started[] = [];
  const grpc: Etcd3[] = [];
  try {
    const members = await startCluster(dir, procs);
    const leader = await leaderOf(members);
    log(`etcd: 3 members up, leader ${leader.name}; clients → 127.0.0.1:${leader.client} (${api === "grpc" ? "gRPC, etcd3" : "JSON gateway, /v3/kv/put"})`);
    if (api === "grpc") {
      const clients: LoadClient[] = [];
      for (let c = 0; c < shape.clients; c++) {
        const client = new Etcd3({ hosts: `http://127.0.0.1:${leader.client}` });
        grpc.push(client);
        let n = 0;
        clients.push({ op: (payload) => client.put(`bench/${c}/${n++}`).value(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)).exec() });
      }
      return await runLoad(shape, clients);
    }
    const url = `http://127.0.0.1:${leader.client}/v3/kv/put`;
    let valueFor: Uint8Array | null = null;
    let value = "";
    const clients: LoadClient[] = [];
    for (let c = 0; c < shape.clients; c++) {
      let n = 0;
      clients.push({
        op: async (payload) => {
          if (payload !== valueFor) {
            valueFor = payload;
            value = b64(payload);
          }
          const key = b64(new TextEncoder().encode(`bench/${c}/${n++}`));
          const r = await fetch(url, { method: "POST", body: `{"key":"${key}","value":"${value}"}`, keepalive: true });
          const text = await r.text();
          if (!r.ok) throw new Error(`etcd put: HTTP ${r.status} ${text.slice(0, 200)}`);
          // The gateway answers 200 with {"error": ...} on some failures.
          if (text.includes('"error"')) throw new Error(`etcd put: ${text.slice(0, 200)}`);
        },
      });
    }
    return await runLoad(shape, clients);
  } finally {
    for (const c of grpc) c.close();
    await stop(procs);
  }
}
