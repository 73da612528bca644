// A node's metrics: histograms fed by the data path (sync rounds of each log, commit latency at
// the head) and gauges and counters read from the replicas when /metrics is scraped.

import { type Histogram, LATENCY_BUCKETS_SECONDS } from "../metrics/histogram.ts";
import { type Family, Registry } from "../metrics/registry.ts";
import type { Listener, ListenerStats } from "../transport/tcp.ts";
import type { Replica } from "./replica.ts";

const LABELS = ["node", "chain"] as const;

export class NodeMetrics {
  private readonly registry = new Registry();
  private readonly fsync: Family<Histogram>;
  private readonly commitLatency: Family<Histogram>;

  constructor(
    private readonly nodeId: string,
    replicas: () => Iterable<Replica>,
    listeners: () => { name: string; listener: Listener }[] = () => [],
  ) {
    const r = this.registry;
    const LISTENER = ["node", "listener"] as const;
    r.collect("catena_connections", "Connections open now on each TCP listener (client, replication), TLS handshakes in progress not counted.", "gauge", LISTENER, () =>
      listeners().map(({ name, listener }) => ({ labels: { node: nodeId, listener: name }, value: listener.connectionCount })),
    );
    const closed: [keyof ListenerStats, string][] = [
      ["refusedFull", "full"],
      ["refusedTls", "tls"],
      ["timedOutHandshake", "handshake_timeout"],
      ["timedOutIdle", "idle_timeout"],
      ["timedOutFrame", "frame_timeout"],
      ["timedOutWrite", "write_timeout"],
    ];
    r.collect("catena_connections_accepted_total", "Connections accepted on each TCP listener (after TLS, when configured).", "counter", LISTENER, () =>
      listeners().map(({ name, listener }) => ({ labels: { node: nodeId, listener: name }, value: listener.stats.accepted })),
    );
    r.collect(
      "catena_connections_refused_total",
      "Connections each TCP listener closed before serving them, by reason: full (limits.connections_max), tls (no valid client certificate), handshake_timeout, idle_timeout, frame_timeout, write_timeout (a peer that read nothing it was sent).",
      "counter",
      ["node", "listener", "reason"],
      () => listeners().flatMap(({ name, listener }) => closed.map(([key, reason]) => ({ labels: { node: nodeId, listener: name, reason }, value: listener.stats[key] }))),
    );
    const perReplica = (value: (replica: Replica) => number) => () =>
      Array.from(replicas(), (replica) => ({ labels: { node: nodeId, chain: replica.chainId }, value: value(replica) }));
    r.collect("catena_log_end_offset", "Next offset this node will write (one past its last entry).", "gauge", LABELS, perReplica((x) => x.log.endOffset));
    r.collect("catena_durable_end_offset", "Entries below this offset are fdatasynced on this node.", "gauge", LABELS, perReplica((x) => x.log.durableEnd));
    r.collect("catena_commit_end_offset", "Entries below this offset are committed on the chain, as far as this node knows.", "gauge", LABELS, perReplica((x) => x.commitEnd));
    r.collect(
      "catena_uncommitted_entries",
      "Entries in this node's log not yet known here to be committed (log end minus the commit end this node knows): " +
        'not yet held by every member of the chain (fdatasynced on every member under sync = "always"). At the head, the replication backlog of the whole chain.',
      "gauge",
      LABELS,
      perReplica((x) => Math.max(0, x.log.endOffset - x.commitEnd)),
    );
    r.collect("catena_epoch", "The chain epoch this node knows.", "gauge", LABELS, perReplica((x) => x.epoch));
    r.collect("catena_appended_entries_total", "Entries written to this node's log since the process started (appended at the head, replicated elsewhere).", "counter", LABELS, perReplica((x) => x.stats.appends));
    r.collect("catena_appended_bytes_total", "Record bytes, record headers included, written to this node's log since the process started.", "counter", LABELS, perReplica((x) => x.stats.appendBytes));
    r.collect("catena_batches_total", "Batches written to this node's log since the process started.", "counter", LABELS, perReplica((x) => x.stats.batches));
    this.fsync = r.histogram(
      "catena_fsync_seconds",
      "Duration of each sync round of this chain's log: an fdatasync of every segment file with unsynced writes, in parallel, plus an fsync of the directory after a new segment.",
      LABELS,
      LATENCY_BUCKETS_SECONDS,
    );
    this.commitLatency = r.histogram(
      "catena_commit_latency_seconds",
      "At the head, per batch it writes: time from the arrival of the batch's first append to the head learning that the batch is committed. Nothing is observed on other nodes.",
      LABELS,
      LATENCY_BUCKETS_SECONDS,
    );
  }

  /** Observes the sync rounds of one chain's log. */
  fsyncSeconds(chainId: number): Histogram {
    return this.fsync.labels({ node: this.nodeId, chain: chainId });
  }

  /** Observes the commit latency of one chain's batches while this node is its head. */
  commitSeconds(chainId: number): Histogram {
    return this.commitLatency.labels({ node: this.nodeId, chain: chainId });
  }

  render(): string {
    return this.registry.render();
  }
}
