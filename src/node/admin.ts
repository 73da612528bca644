// The node's admin HTTP API (Hono): /health, /v1/status (JSON) and /metrics (Prometheus text).

import { Hono } from "hono";
import { METRICS_CONTENT_TYPE } from "../metrics/registry.ts";
import { TokenCheck, requireToken } from "../security/http.ts";
import { logLevelRoutes } from "../security/log-level-route.ts";
import type { NodeConfig } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import type { LogFailure } from "./log-failure.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { Replica } from "./replica.ts";

/** What the admin API reads from the node (the node passes itself; no import back to node.ts). */
export interface AdminHost {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly startedAt: number;
  readonly lastMasterContact: number;
  readonly logFailures: LogFailure[];
  readonly replicas: ReadonlyMap<number, Replica>;
  readonly metrics: NodeMetrics;
  hasLease(): boolean;
}

export interface AdminServer {
  readonly port: number;
  stop(): void;
}

export function nodeStatus(node: AdminHost) {
  return {
    id: node.config.nodeId,
    uptimeMs: Date.now() - node.startedAt,
    sync: node.config.log.sync,
    dataDir: node.config.log.dir,
    lastMasterContactMs: node.lastMasterContact ? Date.now() - node.lastMasterContact : null,
    /** Replicas whose log failed (a full disk, an I/O error): empty while every log works. */
    logFailures: node.logFailures,
    chains: [...node.replicas.values()].map((r) => ({
      chainId: r.chainId,
      epoch: r.epoch,
      role: r.role,
      predecessor: r.predecessorId,
      successorConnected: r.downstreamConnected,
      startOffset: r.log.startOffset,
      logEnd: r.log.endOffset,
      durableEnd: r.log.durableEnd,
      commitEnd: r.commitEnd,
      segments: r.log.segmentCount,
      bytes: r.log.bytes,
      appends: r.stats.appends,
      batches: r.stats.batches,
    })),
  };
}

export function startAdmin(node: AdminHost): AdminServer {
  const app = new Hono();
  // Liveness: the process answers. Readiness: it has its lease from the master, serves a chain, and
  // no log of it has failed.
  app.get("/health", (c) => c.json({ ok: true, id: node.config.nodeId }));
  app.get("/health/ready", (c) => {
    const serving = [...node.replicas.values()].filter((r) => r.role !== "none" && r.role !== "syncing").map((r) => r.chainId);
    const failures = node.logFailures;
    const ready = node.hasLease() && serving.length > 0 && failures.length === 0;
    const reason = failures.map((f) => `the log of chain ${f.chainId} failed (${f.error}); ${f.next}`).join("; ");
    return c.json({ ready, lease: node.hasLease(), servingChains: serving, ...(reason ? { reason, logFailures: failures } : {}) }, ready ? 200 : 503);
  });
  // Everything but the health checks needs the client or admin token when tokens are configured.
  const readers = requireToken(new TokenCheck([node.config.auth.client, node.config.auth.admin]), "this node's admin API");
  app.use("/v1/*", readers);
  app.use("/metrics", readers);
  app.get("/v1/status", (c) => c.json(nodeStatus(node)));
  logLevelRoutes(app, node.config.auth, node.log);
  app.get("/metrics", (c) => c.text(node.metrics.render(), 200, { "content-type": METRICS_CONTENT_TYPE }));
  const tls = node.config.tls;
  const server = Bun.serve({ hostname: node.config.listen.admin.host, port: node.config.listen.admin.port, fetch: app.fetch, ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}) });
  return {
    get port() {
      return server.port ?? 0;
    },
    stop() {
      server.stop(true);
    },
  };
}
