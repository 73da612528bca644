// The master's HTTP API (Hono). Nodes: POST /v1/nodes/join, POST /v1/nodes/heartbeat.
// Everyone: GET /v1/cluster, GET /v1/events (server-sent events), GET /health, GET /metrics.

import { Hono } from "hono";
import { TokenCheck, requireToken } from "../security/http.ts";
import { logLevelRoutes } from "../security/log-level-route.ts";
import { streamSSE } from "hono/streaming";
import { METRICS_CONTENT_TYPE } from "../metrics/registry.ts";
import type { ChainLayoutJson } from "../node/layout.ts";
import { bodyLimit } from "hono/body-limit";
import { requireAdmin } from "../security/http.ts";
import { JoinRefused, RemoveRefused, ReportRefused, type ClusterEvent, type Master } from "./master.ts";
import { NODE_REQUEST_BYTES_MAX, parseHeartbeat, parseJoin } from "./node-requests.ts";
import { masterMetrics } from "./metrics.ts";
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

export function masterApp(master: Master): Hono {
  const app = new Hono();
  app.onError((err, c) => c.json({ error: err.message }, 500));
  // Tokens (when configured): nodes join and heartbeat with the node token; reading the cluster,
  // its events and metrics takes the client token; the admin token opens everything.
  const { auth } = master.config;
  app.use("/v1/nodes/*", requireToken(new TokenCheck([auth.node, auth.admin]), "the node API"));
  app.use("/v1/nodes/*", bodyLimit({ maxSize: NODE_REQUEST_BYTES_MAX, onError: (c) => c.json({ error: `a node request must be at most ${NODE_REQUEST_BYTES_MAX} bytes` }, 413) }));
  const readers = requireToken(new TokenCheck([auth.client, auth.admin]), "the master's API");
  app.use("/v1/cluster", readers);
  app.use("/v1/events", readers);
  app.use("/metrics", readers);
  app.use("/v1/log-level", readers);
  logLevelRoutes(app, auth, master.log);
  const answer = (chains: ChainRecord[]) => ({ leaseMs: master.config.leaseMs, heartbeatMs: master.config.heartbeatMs, chains: layouts(master, chains) });

  app.post("/v1/nodes/join", async (c) => {
    const join = parseJoin(await c.req.json().catch(() => null));
    if (typeof join === "string") return c.json({ error: `join refused: ${join}` }, 400);
    try {
      return c.json(answer(master.join(join)));
    } catch (e) {
      if (e instanceof JoinRefused) return c.json({ error: e.message }, 409);
      throw e;
    }
  });

  app.post("/v1/nodes/heartbeat", async (c) => {
    const beat = parseHeartbeat(await c.req.json().catch(() => null));
    if (typeof beat === "string") return c.json({ error: `heartbeat refused: ${beat}` }, 400);
    try {
      const mine = master.heartbeat(beat.id, beat.chains);
      if (!mine) return c.json({ error: `unknown node "${beat.id}": join first` }, 404);
      return c.json(answer(mine));
    } catch (e) {
      if (e instanceof ReportRefused) return c.json({ error: e.message }, 400);
      throw e;
    }
  });

  app.delete("/v1/nodes/:id", requireAdmin(auth, "removing a node"), (c) => {
    try {
      master.removeNode(c.req.param("id"));
      return c.json({ removed: c.req.param("id") });
    } catch (e) {
      if (e instanceof RemoveRefused) return c.json({ error: e.message }, e.notFound ? 404 : 409);
      throw e;
    }
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
  // Readiness: the state is loaded and the API answers; the chains' own status is listed, since a
  // chain waiting for its last node is a cluster problem, not a reason to restart the master.
  app.get("/health/ready", (c) => c.json({ ready: true, chains: master.cluster().chains.map((ch) => ({ chainId: ch.chainId, status: ch.status })) }));
  app.get("/metrics", (c) => c.text(masterMetrics(master), 200, { "content-type": METRICS_CONTENT_TYPE }));
  return app;
}
