// The node's admin HTTP API (Hono): /health, /v1/status (JSON) and /metrics (Prometheus text).

import { Hono } from "hono";
import type { StorageNode } from "./node.ts";

export interface AdminServer {
  readonly port: number;
  stop(): void;
}

export function nodeStatus(node: StorageNode) {
  return {
    id: node.config.nodeId,
    uptimeMs: Date.now() - node.startedAt,
    sync: node.config.log.sync,
    dataDir: node.config.log.dir,
    lastMasterContactMs: node.lastMasterContact ? Date.now() - node.lastMasterContact : null,
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

function metrics(node: StorageNode): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, type: "gauge" | "counter", rows: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) lines.push(`${name}{${labels}} ${value}`);
  };
  const rs = [...node.replicas.values()];
  const label = (chain: number) => `node="${node.config.nodeId}",chain="${chain}"`;
  gauge("catena_log_end_offset", "Next offset this node will write.", "gauge", rs.map((r) => [label(r.chainId), r.log.endOffset]));
  gauge("catena_durable_end_offset", "Offsets below this are fdatasynced on this node.", "gauge", rs.map((r) => [label(r.chainId), r.log.durableEnd]));
  gauge("catena_commit_end_offset", "Offsets below this are committed on the chain.", "gauge", rs.map((r) => [label(r.chainId), r.commitEnd]));
  gauge("catena_appended_entries_total", "Entries written to this node's log.", "counter", rs.map((r) => [label(r.chainId), r.stats.appends]));
  gauge("catena_appended_bytes_total", "Record bytes written to this node's log.", "counter", rs.map((r) => [label(r.chainId), r.stats.appendBytes]));
  gauge("catena_batches_total", "Batches written to this node's log.", "counter", rs.map((r) => [label(r.chainId), r.stats.batches]));
  gauge("catena_epoch", "The chain epoch this node knows.", "gauge", rs.map((r) => [label(r.chainId), r.epoch]));
  return lines.join("\n") + "\n";
}

export function startAdmin(node: StorageNode): AdminServer {
  const app = new Hono();
  // Liveness: the process answers. Readiness: it has its lease from the master and serves a chain.
  app.get("/health", (c) => c.json({ ok: true, id: node.config.nodeId }));
  app.get("/health/ready", (c) => {
    const serving = [...node.replicas.values()].filter((r) => r.role !== "none" && r.role !== "syncing").map((r) => r.chainId);
    const ready = node.hasLease() && serving.length > 0;
    return c.json({ ready, lease: node.hasLease(), servingChains: serving }, ready ? 200 : 503);
  });
  app.get("/v1/status", (c) => c.json(nodeStatus(node)));
  app.get("/metrics", (c) => c.text(metrics(node), 200, { "content-type": "text/plain; version=0.0.4" }));
  const server = Bun.serve({ hostname: node.config.listen.admin.host, port: node.config.listen.admin.port, fetch: app.fetch });
  return {
    get port() {
      return server.port ?? 0;
    },
    stop() {
      server.stop(true);
    },
  };
}
