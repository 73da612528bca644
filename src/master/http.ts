// The master's HTTP API (Hono). Nodes: POST /v1/nodes/join, POST /v1/nodes/heartbeat.
// Everyone: GET /v1/cluster, GET /v1/events (server-sent events), GET /health, GET /metrics.

import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { ChainLayoutJson } from "../node/layout.ts";
import { JoinRefused, type ChainReport, type ClusterEvent, type Master } from "./master.ts";
import type { ChainRecord } from "./state.ts";

/** Below Bun.serve's idle timeout (10 s), so an idle event stream stays open. */
const KEEP_ALIVE_MS = 5000;

function layouts(master: Master, chains: ChainRecord[]): ChainLayoutJson[] {
  const info = (id: string) => {
    const n = master.nodeRecord(id)!;
    return { id, clientAddr: n.clientAddr, replicationAddr: n.replicationAddr };
  };
  return chains.map((c) => ({ chainId: c.chainId, epoch: c.epoch, members: c.members.map(info), syncing: c.syncing ? info(c.syncing) : null }));
}

function isAddress(v: unknown): v is string {
  return typeof v === "string" && /^.+:\d{1,5}$/.test(v);
}

function reportsOf(v: unknown): ChainReport[] | null {
  if (!Array.isArray(v)) return null;
  for (const r of v) {
    if (typeof r !== "object" || r === null) return null;
    for (const k of ["chainId", "epoch", "logEnd", "durableEnd", "ackableEnd", "commitEnd"]) if (typeof (r as Record<string, unknown>)[k] !== "number") return null;
  }
  return v as ChainReport[];
}

export function masterApp(master: Master): Hono {
  const app = new Hono();
  app.onError((err, c) => c.json({ error: err.message }, 500));
  const answer = (chains: ChainRecord[]) => ({ leaseMs: master.config.leaseMs, heartbeatMs: master.config.heartbeatMs, chains: layouts(master, chains) });

  app.post("/v1/nodes/join", async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    const chains = reportsOf(body?.chains);
    if (!body || typeof body.id !== "string" || !isAddress(body.clientAddr) || !isAddress(body.replicationAddr) || !isAddress(body.adminAddr) || !chains) {
      return c.json({ error: "join needs id, clientAddr, replicationAddr, adminAddr and chains" }, 400);
    }
    try {
      return c.json(answer(master.join({ id: body.id, clientAddr: body.clientAddr, replicationAddr: body.replicationAddr, adminAddr: body.adminAddr, chains })));
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
    return c.json(answer(mine));
  });

  app.get("/v1/cluster", (c) => c.json(master.cluster()));

  app.get("/v1/events", (c) =>
    streamSSE(c, async (stream) => {
      const queue: ClusterEvent[] = [];
      let wake: (() => void) | null = null;
      const off = master.onEvent((e) => {
        queue.push(e);
        wake?.();
      });
      let open = true;
      stream.onAbort(() => {
        open = false;
        off();
        wake?.();
      });
      await stream.write(": catena cluster events\n\n"); // sends the headers at once
      while (open) {
        while (queue.length > 0) await stream.writeSSE({ event: "cluster", data: JSON.stringify(queue.shift()) });
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, KEEP_ALIVE_MS); // a comment line keeps the stream from idling out
        });
        wake = null;
        if (open && queue.length === 0) await stream.write(": keep-alive\n\n");
      }
    }),
  );

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
