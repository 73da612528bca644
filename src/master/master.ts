// Membership and failure handling. Nodes join and heartbeat; the master orders each chain, detects
// failures, removes failed members (never the last serving one), lets a standby copy the log as
// the chain's syncing node and makes it the tail once it has caught up. Every change bumps the
// chain's epoch and is persisted (atomic write + fsync) before any node hears of it.

import type { MasterConfig } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import { StallClock } from "./stall-clock.ts";
import { StateFile, type ChainRecord, type MasterState, type NodeRecord } from "./state.ts";

/** What a node reports about each of its replicas in every heartbeat (defined by the node side). */
export type { ChainReport } from "../node/master-link.ts";
import type { ChainReport } from "../node/master-link.ts";

interface Liveness {
  /** The master's StallClock reading at the last heartbeat or join. */
  lastHeartbeat: number;
  wallTime: number;
  reports: ChainReport[];
}

export interface JoinRequest extends NodeRecord {
  chains: ChainReport[];
  /** The node's log.sync policy (absent from older nodes). */
  sync?: string;
  /** The node's record and batch limits, which every node of a chain must share. */
  limits?: NodeLimits;
}

export interface NodeLimits {
  recordBytesMax: number;
  batchBytesMax: number;
}

/** How often the chains' commit floors may be written to the state file. */
const COMMIT_FLOOR_SAVE_MS = 1000;

export class JoinRefused extends Error {}
/** A heartbeat report that contradicts itself or what the master knows; never stored. */
export class ReportRefused extends Error {}
/** A request to remove a node that is unknown (notFound) or still needed. */
export class RemoveRefused extends Error {
  constructor(
    message: string,
    readonly notFound = false,
  ) {
    super(message);
  }
}

/** Epochs stop well short of 2^53 so that a forged or damaged one cannot run them out. */
export const EPOCH_MAX = 2 ** 48;

export interface ClusterEvent {
  time: string;
  kind: "joined" | "failed" | "recovered" | "reconfigured" | "syncing" | "caught-up" | "waiting" | "refused" | "warning" | "removed";
  message: string;
  /** Refusals and warnings repeated word for word are one event: how many times, and the latest. */
  count?: number;
  lastTime?: string;
  chainId?: number;
  nodeId?: string;
  epoch?: number;
}

const EVENTS_KEPT = 200;
const FOLDED_KINDS: ReadonlySet<ClusterEvent["kind"]> = new Set(["refused", "warning"]);

export class Master {
  private state: MasterState;
  private readonly store: StateFile;
  private readonly live = new Map<string, Liveness>();
  private readonly failed = new Set<string>();
  private readonly waiting = new Map<number, string>();
  readonly events: ClusterEvent[] = [];
  /** Events of a change not yet persisted: published only after the state file is written. */
  private unpublished: ClusterEvent[] = [];
  private readonly listeners = new Set<(e: ClusterEvent) => void>();
  /** chainId -> epoch increments this process has persisted (catena_reconfigurations_total). */
  readonly epochChanges = new Map<number, number>();
  /** The highest commit end members reported since start, per chain (saved by saveCommitFloors). */
  private readonly commitSeen = new Map<number, number>();
  /** The limits each node reported when it joined (this process's lifetime). */
  private readonly limits = new Map<string, NodeLimits>();
  private commitFloorSavedAt = -Infinity;
  private readonly clock: StallClock;
  private readonly started: number;
  private timer: ReturnType<typeof setInterval> | null = null;

  /** @param rawClock monotonic milliseconds; tests pass their own to jump it. */
  constructor(
    readonly config: MasterConfig,
    readonly log: Logger,
    rawClock?: () => number,
  ) {
    this.clock = new StallClock(2 * this.tickMs, rawClock);
    this.started = this.clock.now();
    this.store = new StateFile(config.stateDir);
    this.state = this.store.load();
    for (const c of this.state.chains) this.log.info("chain loaded", { chain: c.chainId, epoch: c.epoch, members: c.members, syncing: c.syncing });
  }

  private get tickMs(): number {
    return Math.max(10, Math.floor(this.config.heartbeatMs / 2));
  }

  /** Starts the failure detector. Silence is measured on the StallClock: if this process itself
   * stalled (an fsync of the state file stuck behind other writes, a paused VM, a jump of the
   * monotonic clock), heartbeats may be waiting unread, and no node is blamed for that. */
  start(): void {
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  onEvent(listener: (e: ClusterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- requests from nodes -------------------------------------------------------------------

  join(req: JoinRequest): ChainRecord[] {
    const known = this.state.nodes.find((n) => n.id === req.id);
    const record: NodeRecord = { id: req.id, clientAddr: req.clientAddr, replicationAddr: req.replicationAddr, adminAddr: req.adminAddr };
    const moved = known !== undefined && (known.clientAddr !== req.clientAddr || known.replicationAddr !== req.replicationAddr || known.adminAddr !== req.adminAddr);
    if (moved && this.isAlive(req.id)) {
      const message = `node id "${req.id}" is in use by a live node at ${known.clientAddr}; a second node with that id (at ${req.clientAddr}) was refused`;
      this.event({ kind: "refused", message, nodeId: req.id });
      this.publish();
      throw new JoinRefused(`${message}: give this node another id`);
    }
    const next = structuredClone(this.state);
    if (!known) next.nodes.push(record);
    else if (moved) Object.assign(next.nodes.find((n) => n.id === req.id)!, record);
    this.adoptEpochs(next, req.id, req.chains);
    const chain = next.chains[0];
    let placement = "as a standby";
    const lostEnd = this.lostCommitted(chain, req);
    if (lostEnd !== null && chain.members.length > 1 && chain.members.includes(req.id)) {
      // Under sync = "always" a member holds every committed entry on disk; one that comes back
      // without them (a wiped or replaced disk, a segment cut by recovery) must not serve or lead
      // the chain with its short log: it leaves the chain and copies the log again.
      chain.members = chain.members.filter((m) => m !== req.id);
      chain.epoch++;
      placement = `as a standby: its log ends at ${lostEnd}, below chain ${chain.chainId}'s commit end ${this.commitFloor(chain)}, so it lost committed entries (a wiped disk?); it left the chain and will copy the log again`;
    } else if (chain.members.includes(req.id) || chain.syncing === req.id) {
      if (lostEnd !== null && chain.members.includes(req.id)) {
        this.log.error(`node ${req.id}, the last serving member of chain ${chain.chainId}, came back with its log ending at ${lostEnd}, below the chain's commit end ${this.commitFloor(chain)}: committed entries are lost from every replica; restore its data directory if you can`);
      }
      // A node that joins again has restarted: it may have lost an unsynced tail. A new epoch makes
      // every link of the chain handshake again, so its log is checked against its neighbours'.
      chain.epoch++;
      placement = chain.members.includes(req.id) ? `back as a member of chain ${chain.chainId}` : `back as chain ${chain.chainId}'s syncing node`;
    } else if (chain.members.length === 0 && chain.syncing === null) {
      chain.members.push(req.id);
      chain.epoch++;
      placement = `as the first member of chain ${chain.chainId}`;
    }
    this.commitState(next);
    this.live.set(req.id, { lastHeartbeat: this.clock.now(), wallTime: Date.now(), reports: req.chains });
    this.failed.delete(req.id);
    this.event({ kind: "joined", message: `node ${req.id} joined ${placement} (epoch ${chain.epoch})`, nodeId: req.id, chainId: chain.chainId, epoch: chain.epoch });
    this.checkLimits(req);
    this.reconfigureAll();
    return this.chainsOf(req.id);
  }

  /**
   * Every node checks each batch against its own limits.record_bytes_max and batch_bytes_max, so a
   * node with smaller ones than its predecessor would refuse batches and stall the chain: warn at
   * once, naming both nodes and both values.
   */
  private checkLimits(req: JoinRequest): void {
    if (!req.limits) return;
    this.limits.set(req.id, req.limits);
    for (const [other, theirs] of this.limits) {
      if (other === req.id) continue;
      if (theirs.recordBytesMax === req.limits.recordBytesMax && theirs.batchBytesMax === req.limits.batchBytesMax) continue;
      this.event({
        kind: "warning",
        message: `node ${req.id} has limits.record_bytes_max = ${req.limits.recordBytesMax} and limits.batch_bytes_max = ${req.limits.batchBytesMax}, but node ${other} has ${theirs.recordBytesMax} and ${theirs.batchBytesMax}: keep [limits] the same on every node, or a batch one builds may be refused by another`,
        nodeId: req.id,
      });
      return;
    }
  }

  /** The log end of a sync = "always" node whose log stops short of the chain's commit floor, else null. */
  private lostCommitted(chain: ChainRecord, req: JoinRequest): number | null {
    const floor = this.commitFloor(chain);
    if (req.sync !== "always" || floor === 0) return null;
    const end = req.chains.find((r) => r.chainId === chain.chainId)?.logEnd ?? 0;
    return end < floor ? end : null;
  }

  private commitFloor(chain: ChainRecord): number {
    return Math.max(chain.commitFloor ?? 0, this.commitSeen.get(chain.chainId) ?? 0);
  }

  /** Returns the node's chains, or null if the node is unknown and must join. */
  heartbeat(id: string, reports: ChainReport[]): ChainRecord[] | null {
    if (!this.state.nodes.some((n) => n.id === id)) return null;
    this.checkReports(id, reports);
    const next = structuredClone(this.state);
    if (this.adoptEpochs(next, id, reports)) this.commitState(next);
    this.live.set(id, { lastHeartbeat: this.clock.now(), wallTime: Date.now(), reports });
    for (const r of reports) {
      const chain = this.state.chains.find((c) => c.chainId === r.chainId);
      if (chain && r.epoch === chain.epoch && chain.members.includes(id)) this.raiseCommitSeen(chain);
      if (chain && r.epoch === chain.epoch && r.lacksCommitted === true && chain.members.includes(id) && chain.members.length > 1) this.dropLacking(chain.chainId, id);
    }
    if (this.failed.delete(id)) {
      this.event({ kind: "recovered", message: `node ${id} is heartbeating again`, nodeId: id });
      this.reconfigureAll();
    }
    return this.chainsOf(id);
  }

  /**
   * A report that contradicts itself is refused whole (and logged, folded): a forged or broken
   * heartbeat must not reach the commit floor, which outlives restarts in the state file.
   */
  private checkReports(id: string, reports: ChainReport[]): void {
    for (const r of reports) {
      const problem =
        r.epoch > EPOCH_MAX ? `epoch ${r.epoch} is above ${EPOCH_MAX}`
        : r.commitEnd > r.logEnd ? `its commit end ${r.commitEnd} is above its own log end ${r.logEnd}`
        : r.durableEnd > r.logEnd ? `its durable end ${r.durableEnd} is above its own log end ${r.logEnd}`
        : r.ackableEnd > r.logEnd ? `its ackable end ${r.ackableEnd} is above its own log end ${r.logEnd}`
        : null;
      if (problem === null) continue;
      const message = `a heartbeat from node ${id} about chain ${r.chainId} was refused: ${problem}`;
      this.event({ kind: "refused", message, nodeId: id, chainId: r.chainId });
      this.publish();
      throw new ReportRefused(message);
    }
  }

  /**
   * The commit floor is a lower bound of what every member holds: no more than the lowest end any
   * member of this epoch counts toward the commit, so one node's word (or a forged heartbeat in
   * its name) cannot raise it past what the others hold.
   */
  private raiseCommitSeen(chain: ChainRecord): void {
    let bound = Infinity;
    let commitEnd = 0;
    for (const m of chain.members) {
      const r = this.report(m, chain);
      if (!r) return;
      bound = Math.min(bound, r.ackableEnd);
      commitEnd = Math.max(commitEnd, r.commitEnd);
    }
    const floor = Math.min(bound, commitEnd);
    if (floor > (this.commitSeen.get(chain.chainId) ?? 0)) this.commitSeen.set(chain.chainId, floor);
  }

  /**
   * Nodes learn epochs only from a master, so a node reporting a later epoch than the state holds
   * means the state is behind (restored from an old copy, or removed): the master says so and goes
   * on from the nodes' epoch, rather than hand out epochs every node ignores.
   */
  private adoptEpochs(next: MasterState, id: string, reports: ChainReport[]): boolean {
    let adopted = false;
    for (const r of reports) {
      const chain = next.chains.find((c) => c.chainId === r.chainId);
      if (!chain || r.epoch <= chain.epoch || r.epoch >= EPOCH_MAX) continue;
      this.event({
        kind: "warning",
        message: `the master's state is behind the nodes: node ${id} reports epoch ${r.epoch} of chain ${chain.chainId}, the state holds ${chain.epoch} (was ${this.store.path} restored from an old copy, or removed?); the chain goes on from epoch ${r.epoch + 1}`,
        chainId: chain.chainId,
        nodeId: id,
        epoch: r.epoch + 1,
      });
      chain.epoch = r.epoch + 1;
      adopted = true;
    }
    return adopted;
  }

  /**
   * Forgets a node that is failed or a standby (an operator's `catena nodes remove`). A member or
   * syncing node is refused: it leaves a chain by failing, and a failed member still listed is
   * the chain's last serving node, the only one known to hold every committed entry.
   */
  removeNode(id: string): void {
    if (!this.state.nodes.some((n) => n.id === id)) throw new RemoveRefused(`no node "${id}" is known to the master`, true);
    for (const c of this.state.chains) {
      if (c.members.includes(id) && this.failed.has(id)) {
        throw new RemoveRefused(`node ${id} is chain ${c.chainId}'s last serving node: the chain waits for it, as no other replica is known to hold every committed entry; bring it back instead`);
      }
      if (c.members.includes(id)) throw new RemoveRefused(`node ${id} serves chain ${c.chainId} as its ${roleOf(c, id)}: stop the node first; once the master has replaced it, remove it`);
      if (c.syncing === id) throw new RemoveRefused(`node ${id} is copying chain ${c.chainId}'s log: stop the node first, then remove it`);
    }
    const next = structuredClone(this.state);
    next.nodes = next.nodes.filter((n) => n.id !== id);
    const was = this.failed.has(id) ? "failed" : "standby";
    this.event({ kind: "removed", message: `node ${id} (${was}) was removed by an operator${this.isAlive(id) ? "; it is still heartbeating and will join again unless it is stopped" : ""}`, nodeId: id });
    this.commitState(next);
    this.live.delete(id);
    this.failed.delete(id);
    this.limits.delete(id);
  }

  chainsOf(id: string): ChainRecord[] {
    return this.state.chains.filter((c) => c.members.includes(id) || c.syncing === id);
  }

  nodeRecord(id: string): NodeRecord | undefined {
    return this.state.nodes.find((n) => n.id === id);
  }

  // ---- failure detection and reconfiguration -----------------------------------------------------

  private silenceMs(id: string): number {
    const l = this.live.get(id);
    // After a master restart every known node gets a full failure timeout to check in.
    return this.clock.now() - (l?.lastHeartbeat ?? this.started);
  }

  private isAlive(id: string): boolean {
    return this.silenceMs(id) <= this.config.failureTimeoutMs;
  }

  /** Detects failures (only from the timer, see start) and reconfigures. */
  tick(): void {
    this.saveCommitFloors();
    for (const n of this.state.nodes) {
      if (!this.isAlive(n.id) && !this.failed.has(n.id)) {
        this.failed.add(n.id);
        this.event({ kind: "failed", message: `node ${n.id} failed: no heartbeat for ${Math.round(this.silenceMs(n.id))} ms`, nodeId: n.id });
      }
    }
    this.reconfigureAll();
  }

  /** A member whose successor holds committed entries it lacks leaves the chain and copies the log
   * again (it lost them to a power loss under "interval"/"none", or its disk was replaced): with
   * it in place, its successor refuses its stream and nothing commits. */
  private dropLacking(chainId: number, id: string): void {
    const next = structuredClone(this.state);
    const chain = next.chains.find((c) => c.chainId === chainId)!;
    chain.members = chain.members.filter((m) => m !== id);
    chain.epoch++;
    this.event({
      kind: "reconfigured",
      message: `chain ${chainId}: ${id} lacks committed entries its successor holds (lost to a power loss or a replaced disk); it leaves the chain, now ${chain.members.join(" -> ")} (epoch ${chain.epoch}), and will copy the log again`,
      chainId,
      nodeId: id,
      epoch: chain.epoch,
    });
    this.commitState(next);
  }

  /** Saves the commit ends members reported, at most once every COMMIT_FLOOR_SAVE_MS. */
  private saveCommitFloors(): void {
    const now = this.clock.now();
    if (now - this.commitFloorSavedAt < COMMIT_FLOOR_SAVE_MS) return;
    const raised = this.state.chains.filter((c) => (this.commitSeen.get(c.chainId) ?? 0) > (c.commitFloor ?? 0));
    if (raised.length === 0) return;
    this.commitFloorSavedAt = now;
    const next = structuredClone(this.state);
    for (const c of next.chains) c.commitFloor = Math.max(c.commitFloor ?? 0, this.commitSeen.get(c.chainId) ?? 0);
    this.commitState(next);
  }

  /** Moves every chain one step toward full, healthy membership. */
  private reconfigureAll(): void {
    const next = structuredClone(this.state);
    for (const chain of next.chains) this.reconfigure(chain, next);
    this.commitState(next);
  }

  private reconfigure(chain: ChainRecord, state: MasterState): void {
    const failed = (id: string) => this.failed.has(id);
    if (chain.syncing && failed(chain.syncing)) {
      const gone = chain.syncing;
      chain.syncing = null;
      chain.epoch++;
      this.event({ kind: "reconfigured", message: `chain ${chain.chainId}: syncing node ${gone} failed and was dropped (epoch ${chain.epoch})`, chainId: chain.chainId, epoch: chain.epoch });
    }
    for (const id of chain.members.filter(failed)) {
      if (chain.members.length === 1) {
        // The last serving replica holds every committed entry; nobody else may take its place.
        if (this.waiting.get(chain.chainId) !== id) {
          this.waiting.set(chain.chainId, id);
          this.event({ kind: "waiting", message: `chain ${chain.chainId}: its last serving node ${id} failed; the chain waits for it to return (no other replica is known to hold every committed entry)`, chainId: chain.chainId, nodeId: id });
        }
        continue;
      }
      const role = chain.members[0] === id ? "head" : chain.members[chain.members.length - 1] === id ? "tail" : "middle";
      chain.members = chain.members.filter((m) => m !== id);
      chain.epoch++;
      this.event({
        kind: "reconfigured",
        message: `chain ${chain.chainId}: ${role} ${id} removed; chain is now ${chain.members.join(" -> ")} (epoch ${chain.epoch})`,
        chainId: chain.chainId,
        nodeId: id,
        epoch: chain.epoch,
      });
    }
    if (chain.members.length > 0 && !failed(chain.members[0])) this.waiting.delete(chain.chainId);
    const allServing = chain.members.length > 0 && chain.members.every((m) => !failed(m));
    if (allServing && chain.syncing === null && chain.members.length < this.config.replicationFactor) {
      const candidate = state.nodes.find((n) => !failed(n.id) && this.live.has(n.id) && !state.chains.some((c) => c.members.includes(n.id) || c.syncing === n.id));
      if (candidate) {
        chain.syncing = candidate.id;
        chain.epoch++;
        this.event({ kind: "syncing", message: `chain ${chain.chainId}: node ${candidate.id} is copying the log from tail ${chain.members[chain.members.length - 1]} (epoch ${chain.epoch})`, chainId: chain.chainId, nodeId: candidate.id, epoch: chain.epoch });
      }
    }
    if (chain.syncing && allServing && this.caughtUp(chain, chain.syncing)) {
      const id = chain.syncing;
      chain.members.push(id);
      chain.syncing = null;
      chain.epoch++;
      this.event({ kind: "caught-up", message: `chain ${chain.chainId}: node ${id} caught up and is the new tail; chain is now ${chain.members.join(" -> ")} (epoch ${chain.epoch})`, chainId: chain.chainId, nodeId: id, epoch: chain.epoch });
    }
  }

  /** The syncing node holds (by the commit rule) everything the tail has committed. Its offsets
   * count only once the tail has checked its log in this epoch (`checked`): a returning node's log
   * can be as long as the tail's and still hold another history (after a power loss of every node
   * under sync "interval" or "none", the chain may go on from a shorter log). */
  private caughtUp(chain: ChainRecord, id: string): boolean {
    const mine = this.report(id, chain);
    const tail = this.report(chain.members[chain.members.length - 1], chain);
    return mine !== undefined && tail !== undefined && mine.checked === true && mine.ackableEnd >= tail.commitEnd && mine.logEnd >= tail.logEnd;
  }

  private report(id: string, chain: ChainRecord): ChainReport | undefined {
    const r = this.live.get(id)?.reports.find((x) => x.chainId === chain.chainId);
    return r && r.epoch === chain.epoch ? r : undefined;
  }

  // ---- views ---------------------------------------------------------------------------------

  /** The document behind GET /v1/cluster. */
  cluster() {
    return {
      replicationFactor: this.config.replicationFactor,
      heartbeatMs: this.config.heartbeatMs,
      failureTimeoutMs: this.config.failureTimeoutMs,
      leaseMs: this.config.leaseMs,
      chains: this.state.chains.map((c) => {
        const waitingFor = this.waiting.get(c.chainId) ?? null;
        return {
          chainId: c.chainId,
          epoch: c.epoch,
          members: c.members,
          syncing: c.syncing,
          head: waitingFor ? null : (c.members[0] ?? null),
          tail: waitingFor ? null : (c.members[c.members.length - 1] ?? null),
          waitingFor,
          status: waitingFor
            ? `unavailable: waiting for ${waitingFor}, its last serving node, to return; no other replica is known to hold every committed entry`
            : c.members.length === 0 ? "no members yet" : "serving",
        };
      }),
      nodes: this.state.nodes.map((n) => this.nodeView(n)),
      events: this.events,
    };
  }

  private nodeView(n: NodeRecord) {
    const alive = this.live.get(n.id);
    const chain = this.state.chains.find((c) => c.members.includes(n.id) || c.syncing === n.id);
    // A node outside every chain (failed and removed, or standby) still shows what it last reported.
    const report = chain ? alive?.reports.find((r) => r.chainId === chain.chainId) : alive?.reports[0];
    const failed = this.failed.has(n.id);
    const role = !chain ? "standby" : chain.syncing === n.id ? "syncing" : roleOf(chain, n.id);
    const tailReport = chain && chain.members.length > 0 ? this.live.get(chain.members[chain.members.length - 1])?.reports.find((r) => r.chainId === chain.chainId) : undefined;
    return {
      ...n,
      chainId: chain?.chainId ?? null,
      role,
      state: failed ? "failed" : role === "standby" ? "standby" : role === "syncing" ? "syncing" : "serving",
      epoch: report?.epoch ?? null,
      logEnd: report?.logEnd ?? null,
      durableEnd: report?.durableEnd ?? null,
      commitEnd: report?.commitEnd ?? null,
      bytes: report?.bytes ?? null,
      syncTargetEnd: role === "syncing" ? (tailReport?.logEnd ?? null) : null,
      lastHeartbeat: alive ? new Date(alive.wallTime).toISOString() : null,
      heartbeatAgeMs: alive ? Math.round(this.clock.now() - alive.lastHeartbeat) : null,
    };
  }

  /** Persists a changed state, then publishes the events that describe it. */
  private commitState(next: MasterState): void {
    if (JSON.stringify(next) !== JSON.stringify(this.state)) {
      this.store.save(next);
      for (const c of next.chains) {
        const bumps = c.epoch - (this.state.chains.find((p) => p.chainId === c.chainId)?.epoch ?? 0);
        if (bumps > 0) this.epochChanges.set(c.chainId, (this.epochChanges.get(c.chainId) ?? 0) + bumps);
      }
      this.state = next;
    }
    this.publish();
  }

  private event(e: Omit<ClusterEvent, "time">): void {
    this.unpublished.push({ time: new Date().toISOString(), ...e });
  }

  private publish(): void {
    const events = this.unpublished;
    this.unpublished = [];
    for (const fresh of events) {
      const e = this.fold(fresh) ?? fresh;
      if (e === fresh) {
        this.events.push(e);
        if (this.events.length > EVENTS_KEPT) this.events.shift();
      }
      // A folded event is logged at its 1st, 10th, 100th... time, so the log stays readable too.
      const count = e.count ?? 1;
      if (Number.isInteger(Math.log10(count))) this.log.info(e.message, { event: e.kind, chain: e.chainId, epoch: e.epoch, ...(count > 1 ? { count } : {}) });
      for (const l of this.listeners) l(e);
    }
  }

  /** A refusal or warning already kept, word for word, counts once more instead of crowding the
   * history (a node id in use twice is refused every heartbeat). Returns the kept event, or null. */
  private fold(e: ClusterEvent): ClusterEvent | null {
    if (!FOLDED_KINDS.has(e.kind)) return null;
    const same = this.events.findLast((k) => k.kind === e.kind && k.message === e.message && k.nodeId === e.nodeId && k.chainId === e.chainId);
    if (!same) return null;
    same.count = (same.count ?? 1) + 1;
    same.lastTime = e.time;
    return same;
  }
}

function roleOf(chain: ChainRecord, id: string): string {
  const i = chain.members.indexOf(id);
  if (chain.members.length === 1) return "head+tail";
  return i === 0 ? "head" : i === chain.members.length - 1 ? "tail" : "middle";
}
