// The storage node: one replica per chain it serves, the client and replication listeners,
// membership with the master, and the admin HTTP API.

import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { dialableAddress, formatAddress, type NodeConfig } from "../config/index.ts";
import { syncRules } from "../chain/sync-policy.ts";
import { Log } from "../log/log.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import type { Connection } from "../transport/connection.ts";
import { TokenCheck } from "../security/token.ts";
import { listenOrExplain } from "../transport/listen-error.ts";
import { listen, type Listener } from "../transport/tcp.ts";
import type { Logger } from "../util/logger.ts";
import { startAdmin, type AdminServer } from "./admin.ts";
import { clientHandler, replicationHandler } from "./frontend.ts";
import { parseLayout, type ChainLayoutJson } from "./layout.ts";
import { describeFailure, fatalLogError, hasRoomForLog, isSpaceFailure, type LogFailure } from "./log-failure.ts";
import { MasterLink, type ChainReport, type NodeAddresses } from "./master-link.ts";
import { NodeMetrics } from "./metrics.ts";
import { Replica } from "./replica.ts";
import { SyncedFile } from "./synced-file.ts";

/** How often a node whose log ran out of space checks whether the disk has room again. */
const ROOM_CHECK_MS = 1000;
/** How long a node whose log failed for good reports it on /health/ready before it exits. */
const FAILED_EXIT_AFTER_MS = 3000;

/** Hooks for tests only; src/cli fills them from the environment (docs/testing.md). */
export interface NodeTestHooks {
  /** Write the segments' fdatasynced lengths to this file after every sync round. */
  syncedFile?: string;
}

export class StorageNode {
  readonly replicas = new Map<number, Replica>();
  private opening = new Map<number, Promise<Replica>>();
  private listeners: Listener[] = [];
  private admin: AdminServer | null = null;
  private masterLink: MasterLink | null = null;
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private readonly syncedFile: SyncedFile | null;
  /** Replicas whose log failed, out of service until recovered (or the process exits). */
  private readonly failedLogs = new Map<number, LogFailure>();
  private roomTimer: ReturnType<typeof setInterval> | null = null;
  private reopening = false;
  private exitTimer: ReturnType<typeof setTimeout> | null = null;
  private fail!: (err: Error) => void;
  /** Resolves when the node cannot go on (a log failed other than for space): the caller exits 1. */
  readonly fatal = new Promise<Error>((resolve) => (this.fail = resolve));
  readonly startedAt = Date.now();
  readonly metrics: NodeMetrics;

  constructor(
    readonly config: NodeConfig,
    readonly log: Logger,
    hooks: NodeTestHooks = {},
  ) {
    this.syncedFile = hooks.syncedFile ? new SyncedFile(hooks.syncedFile) : null;
    this.metrics = new NodeMetrics(config.nodeId, () => this.replicas.values(), () => this.listenerStats);
  }

  async start(): Promise<void> {
    mkdirSync(this.config.log.dir, { recursive: true });
    for (const name of readdirSync(this.config.log.dir)) {
      const m = /^chain-(\d+)$/.exec(name);
      if (m) await this.openReplica(Number(m[1]));
    }
    let addresses: NodeAddresses;
    try {
      addresses = this.listenAll();
    } catch (e) {
      // Close the logs opened above, so that nothing is left half done (a next segment being
      // prepared) when the process exits with the listener's error.
      await this.stop();
      throw e;
    }
    this.log.info("node listening", { ...addresses, dataDir: this.config.log.dir, sync: this.config.log.sync });
    this.leaseTimer = setInterval(() => {
      for (const r of this.replicas.values()) r.checkLease();
    }, this.config.heartbeatMs);
    this.leaseTimer.unref?.();
    this.masterLink = new MasterLink(this.config, addresses, { reports: () => this.reports(), layouts: (l) => this.applyLayouts(l) }, this.log);
    this.masterLink.start();
  }

  /** Opens the client, replication and admin listeners; a failure names the listener's config key. */
  private listenAll(): NodeAddresses {
    const { limits: l, tls, auth, listen: at, file } = this.config;
    const limits = {
      frameBytesMax: l.frameBytesMax,
      queueBytesMax: l.connectionQueueBytesMax,
      connectionsMax: l.connectionsMax,
      handshakeTimeoutMs: l.handshakeTimeoutMs,
      idleTimeoutMs: l.idleTimeoutMs,
      frameTimeoutMs: l.frameTimeoutMs,
      writeTimeoutMs: l.writeTimeoutMs,
    };
    const lookup = {
      replica: (chainId: number) => this.replica(chainId),
      connectionClosed: (conn: Connection) => {
        for (const r of this.replicas.values()) r.connectionClosed(conn);
      },
      waitsForNode: (conn: Connection) => {
        for (const r of this.replicas.values()) if (r.waitsFor(conn)) return true;
        return false;
      },
    };
    // The admin token opens every door a client token opens.
    const ports = { client: new TokenCheck([auth.client, auth.admin]), replication: new TokenCheck([auth.node]) };
    // Clients are not asked for certificates (their token says who may connect); peers on the
    // replication port must present one from the cluster CA naming their node id.
    const client = listenOrExplain({ file, key: "frontend.server_addr", listener: "client listener", addr: at.client }, () =>
      listen(at.client, limits, () => {}, clientHandler(lookup, this.log, ports), tls ? { cert: tls.cert, key: tls.key, ca: null } : undefined),
    );
    this.listeners.push(client);
    const replication = listenOrExplain({ file, key: "replication.server_addr", listener: "replication listener", addr: at.replication }, () =>
      listen(at.replication, limits, () => {}, replicationHandler(lookup, this.log, ports), tls ? { cert: tls.cert, key: tls.key, ca: tls.ca } : undefined),
    );
    this.listeners.push(replication);
    this.admin = listenOrExplain({ file, key: "admin.server_addr", listener: "admin HTTP API", addr: at.admin }, () => startAdmin(this));
    const { advertise } = this.config;
    return {
      clientAddr: formatAddress(advertise.client ?? dialableAddress({ host: at.client.host, port: client.port })),
      replicationAddr: formatAddress(advertise.replication ?? dialableAddress({ host: at.replication.host, port: replication.port })),
      adminAddr: formatAddress(dialableAddress({ host: at.admin.host, port: this.admin.port })),
    };
  }

  get addresses() {
    return this.listeners.map((l) => l.port);
  }

  /** The client and replication listeners, for /metrics. */
  get listenerStats(): { name: string; listener: Listener }[] {
    return this.listeners.map((listener, i) => ({ name: i === 0 ? "client" : "replication", listener }));
  }

  hasLease(): boolean {
    return this.masterLink?.hasLease() ?? false;
  }

  get lastMasterContact(): number {
    return this.masterLink?.lastContact ?? 0;
  }

  replica(chainId: number): Replica {
    const r = this.replicas.get(chainId);
    if (!r) throw new CatenaError(ErrorCode.unknownChain, `node ${this.config.nodeId} holds no replica of chain ${chainId}`);
    return r;
  }

  private openReplica(chainId: number): Promise<Replica> {
    const existing = this.opening.get(chainId);
    if (existing) return existing;
    const opened = (async () => {
      const dir = join(this.config.log.dir, `chain-${chainId}`);
      const log = await Log.open({
        dir,
        segmentBytes: this.config.log.segmentBytes,
        indexIntervalBytes: this.config.log.indexIntervalBytes,
        recordBytesMax: this.config.limits.recordBytesMax,
        sync: this.config.log.sync,
        syncIntervalMs: this.config.log.syncIntervalMs,
        trackSynced: this.syncedFile !== null,
        syncSeconds: this.metrics.fsyncSeconds(chainId),
      });
      if (log.recovery.truncatedBytes > 0) {
        this.log.warn("log recovery cut a torn or corrupt tail", { chain: chainId, truncatedBytes: log.recovery.truncatedBytes, problem: log.recovery.problem });
      }
      // Deferred: the failure is reported from inside an append, mid-way through the replica's work.
      log.onFailure = (err: Error) => queueMicrotask(() => this.logFailed(chainId, err));
      const replica = new Replica(chainId, log, this.config, this.log, () => this.masterLink?.hasLease() ?? false, this.metrics.commitSeconds(chainId));
      this.replicas.set(chainId, replica);
      this.syncedFile?.track(log);
      this.log.info("replica opened", { chain: chainId, logEnd: log.endOffset, segments: log.segmentCount });
      return replica;
    })();
    this.opening.set(chainId, opened);
    // A failed open is not remembered: the next layout tries again (the disk may be back).
    opened.catch(() => {
      if (this.opening.get(chainId) === opened) this.opening.delete(chainId);
    });
    return opened;
  }

  get logFailures(): LogFailure[] {
    return [...this.failedLogs.values()];
  }

  /**
   * Takes the replica out of service and stops heartbeating, so that the master removes this node
   * from the chain (the chain goes on without it). Then waits for room on the disk, or exits.
   */
  private logFailed(chainId: number, err: Error): void {
    if (this.failedLogs.has(chainId)) return;
    const failure = describeFailure(chainId, err, this.config.log.dir, ROOM_CHECK_MS);
    this.failedLogs.set(chainId, failure);
    this.log.error(`the log failed; this node stops heartbeating so that the master replaces it, and is ${failure.next}`, { chain: chainId, error: err.message });
    this.masterLink?.stop();
    const r = this.replicas.get(chainId);
    r?.applyLayout({ chainId, epoch: r.epoch, members: [], syncing: null, removed: true });
    if (!isSpaceFailure(err)) {
      // A moment on /health/ready first, so that a probe or a person sees why it went.
      this.exitTimer ??= setTimeout(() => this.fail(fatalLogError(chainId, err, this.config.log.dir)), FAILED_EXIT_AFTER_MS);
      return;
    }
    this.roomTimer ??= setInterval(() => void this.reopenWhenRoom(), ROOM_CHECK_MS);
  }

  /** Once the disk has room: reopens every failed log (recovery cuts a torn tail) and joins again. */
  private async reopenWhenRoom(): Promise<void> {
    if (this.reopening || this.exitTimer) return;
    this.reopening = true;
    try {
      if (!hasRoomForLog(this.config.log.dir, this.config.log.segmentBytes)) return;
      for (const chainId of this.failedLogs.keys()) {
        await this.reopenReplica(chainId);
        this.failedLogs.delete(chainId);
      }
    } catch (e) {
      this.log.warn("reopening the log failed; trying again", { error: (e as Error).message });
    } finally {
      this.reopening = false;
    }
    if (this.failedLogs.size > 0 || this.roomTimer === null) return;
    clearInterval(this.roomTimer);
    this.roomTimer = null;
    this.log.info("the disk has room again and the log is reopened; joining the master again");
    this.masterLink?.rejoin();
  }

  private async reopenReplica(chainId: number): Promise<void> {
    const old = this.replicas.get(chainId);
    this.replicas.delete(chainId);
    this.opening.delete(chainId);
    // Its close rejects with the failure already reported; the files are closed all the same.
    await old?.close().catch(() => {});
    await this.openReplica(chainId);
  }

  private reports(): ChainReport[] {
    return [...this.replicas.values()].map((r) => ({
      chainId: r.chainId,
      epoch: r.epoch,
      role: r.role,
      logEnd: r.log.endOffset,
      durableEnd: r.log.durableEnd,
      ackableEnd: syncRules(this.config.log.sync).ackableEnd(r.log),
      commitEnd: r.commitEnd,
      bytes: r.log.bytes,
      checked: r.upstreamChecked,
      lacksCommitted: r.lacksCommitted,
    }));
  }

  private async applyLayouts(chains: ChainLayoutJson[]): Promise<void> {
    for (const json of chains) {
      // A heartbeat answered after the failure must not put a failed replica back in service.
      if (this.failedLogs.has(json.chainId)) continue;
      const replica = await this.openReplica(json.chainId);
      replica.applyLayout(parseLayout(json));
    }
    // A replica of a chain the master no longer lists this node in stops taking part.
    for (const r of this.replicas.values()) {
      const listed = chains.find((c) => c.chainId === r.chainId);
      if (!listed && r.role !== "none") r.applyLayout({ chainId: r.chainId, epoch: r.epoch, members: [], syncing: null, removed: true });
    }
  }

  async stop(): Promise<void> {
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.roomTimer) clearInterval(this.roomTimer);
    if (this.exitTimer) clearTimeout(this.exitTimer);
    this.masterLink?.stop();
    for (const l of this.listeners) l.stop();
    this.admin?.stop();
    for (const [chainId, r] of this.replicas) {
      // A failed log rejects its close with the failure, reported when it happened.
      await r.close().catch((e: Error) => {
        if (!this.failedLogs.has(chainId)) throw e;
      });
    }
  }
}
