// The master's HTTP API (Hono). Nodes: POST /v1/nodes/join, POST /v1/nodes/heartbeat.
// Everyone: GET /v1/cluster, GET /health, GET /metrics.

import { Hono } from "hono";
import type { ChainLayoutJson } from "../node/layout.ts";
import { JoinRefused, type ChainReport, type Master } from "./master.ts";
import type { ChainRecord } from "./state.ts";

function layouts(master: Master, chains: ChainRecord[]): ChainLayoutJson[] {
  return chains.map((c) => ({
    chainId: c.chainId,
    epoch: c.epoch,
    members: c.members.map((id) => {
      const n = master.nodeRecord(id)!;
      return { id, clientAddr: n.clientAddr, replicationAddr: n.replicationAddr };
    }),
  }));
}

function isAddress(v: unknown): v is string {
  return typeof v === "string" && /^.+:\d{1,5}$/.test(v);
}

function reportsOf(v: unknown): ChainReport[] | null {
  if (!Array.isArray(v)) return null;
  for (const r of v) {
    if (typeof r !== "object" || r === null) return null;
    for (const k of ["chainId", "logEnd", "durableEnd", "commitEnd"]) if (typeof (r as Record<string, unknown>)[k] !== "number") return null;
  }
  return v as ChainReport[];
}

export function masterApp(master: Master): Hono {
  const app = new Hono();
  app.onError((err, c) => c.json({ error: err.message }, 500));

  app.post("/v1/nodes/join", async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const chains = reportsOf(body?.chains);
    if (!body || typeof body.id !== "string" || !isAddress(body.clientAddr) || !isAddress(body.replicationAddr) || !isAddress(body.adminAddr) || !chains) {
      return c.json({ error: "join needs id, clientAddr, replicationAddr, adminAddr and chains" }, 400);
    }
    try {
      const joined = master.join({ id: body.id, clientAddr: body.clientAddr, replicationAddr: body.replicationAddr, adminAddr: body.adminAddr, chains });
      return c.json({ chains: layouts(master, joined) });
    } catch (e) {
      if (e instanceof JoinRefused) return c.json({ error: e.message }, 409);
      throw e;
    }
  });

  app.post("/v1/nodes/heartbeat", async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const chains = reportsOf(body?.chains);
    if (!body || typeof body.id !== "string" || !chains) return c.json({ error: "heartbeat needs id and chains" }, 400);
    const mine = master.heartbeat(body.id, chains);
    if (!mine) return c.json({ error: `unknown node "${body.id}": join first` }, 404);
    return c.json({ chains: layouts(master, mine) });
  });

  app.get("/v1/cluster", (c) => c.json(master.cluster()));
  app.get("/health", (c) => c.json({ ok: true }));
  app.get("/metrics", (c) => {
    const doc = master.cluster();
    const lines = ["# HELP catena_chain_epoch Current epoch of each chain.", "# TYPE catena_chain_epoch gauge"];
    for (const ch of doc.chains) lines.push(`catena_chain_epoch{chain="${ch.chainId}"} ${ch.epoch}`);
    lines.push("# HELP catena_node_heartbeat_age_ms Milliseconds since each node's last heartbeat.", "# TYPE catena_node_heartbeat_age_ms gauge");
    for (const n of doc.nodes) if (n.heartbeatAgeMs !== null) lines.push(`catena_node_heartbeat_age_ms{node="${n.id}"} ${n.heartbeatAgeMs}`);
    return c.text(lines.join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}
