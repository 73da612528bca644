// The master process around its planner (src/chain/planner.ts, the rules): it reads the clock,
// runs the failure detector's timer, persists each step's state (atomic write + fsync) before it
// answers anyone or publishes the step's events, keeps the event history and serves the views.

import { JoinRefused, RemoveRefused, ReportRefused, type ChainRecord, type ChainReport, type ClusterEvent, type JoinRequest, type MasterState, type NodeRecord, type PlannedEvent } from "../chain/control.ts";
import { MasterPlanner, roleOf, type Ready, type Step } from "../chain/planner.ts";
import type { ClusterDocument, NodeInfo } from "../client/cluster-document.ts";
import type { MasterConfig } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import { StallClock } from "./stall-clock.ts";
import { StateFile } from "./state.ts";
import type { StateStore } from "./state-store.ts";

export { EPOCH_MAX, JoinRefused, RemoveRefused, ReportRefused, type ChainReport, type ClusterEvent, type JoinRequest, type NodeLimits } from "../chain/control.ts";

const EVENTS_KEPT = 200;
const FOLDED_KINDS: ReadonlySet<ClusterEvent["kind"]> = new Set(["refused", "warning"]);

export class Master {
  private readonly store: StateStore;
  private readonly planner: MasterPlanner;
  readonly events: ClusterEvent[] = [];
  private readonly listeners = new Set<(e: ClusterEvent) => void>();
  /** chainId -> epoch increments this process has persisted (catena_reconfigurations_total). */
  readonly epochChanges = new Map<number, number>();
  /** Wall-clock time of each node's last heartbeat, for the views. */
  private readonly wallTimes = new Map<string, number>();
  private readonly clock: StallClock;
  private timer: ReturnType<typeof setInterval> | null = null;

  /**
   * @param rawClock monotonic milliseconds; tests pass their own to jump it.
   * @param store where the state lives: the state file in config.stateDir unless given.
   */
  constructor(
    readonly config: MasterConfig,
    readonly log: Logger,
    rawClock?: () => number,
    store?: StateStore,
  ) {
    this.clock = new StallClock(2 * this.tickMs, rawClock);
    this.store = store ?? new StateFile(config.stateDir);
    const state = this.store.load();
    this.planner = new MasterPlanner({ replicationFactor: config.replicationFactor, failureTimeoutMs: config.failureTimeoutMs }, state, this.clock.now());
    for (const c of state.chains) this.log.info("chain loaded", { chain: c.chainId, epoch: c.epoch, members: c.members, syncing: c.syncing });
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

  // ---- requests --------------------------------------------------------------------------------

  /** Places a joining node; returns its chains. Throws JoinRefused for a node id in use. */
  join(req: JoinRequest): ChainRecord[] {
    const step = this.planner.join(req, this.clock.now());
    if (!step.refused) this.wallTimes.set(req.id, Date.now());
    return this.answer(step, JoinRefused);
  }

  /** Returns the node's chains, or null if the node is unknown and must join. Throws
   * ReportRefused for a report that contradicts itself. */
  heartbeat(id: string, reports: ChainReport[]): ChainRecord[] | null {
    const step = this.planner.heartbeat(id, reports, this.clock.now());
    if (step.unknown) return null;
    if (!step.refused) this.wallTimes.set(id, Date.now());
    return this.answer(step, ReportRefused);
  }

  /** Forgets a failed or standby node. Throws RemoveRefused otherwise. */
  removeNode(id: string): void {
    const step = this.planner.removeNode(id, this.clock.now());
    if (step.refused) {
      this.apply(step);
      throw new RemoveRefused(step.refused, step.unknown === true);
    }
    this.wallTimes.delete(id);
    this.apply(step);
  }

  /** Detects failures (from the timer, see start) and reconfigures. */
  tick(): void {
    this.apply(this.planner.tick(this.clock.now()));
  }

  private answer(step: Step, Refusal: new (message: string) => Error): ChainRecord[] {
    this.apply(step);
    if (step.refused) throw new Refusal(step.refused);
    return step.chains;
  }

  /** Persists a step's state, then lets the planner go on from it, then publishes its events. */
  private apply(ready: Ready): void {
    if (ready.state) {
      this.store.save(ready.state);
      this.countEpochChanges(this.planner.state, ready.state);
    }
    this.planner.advance(ready);
    this.publish(ready.events);
  }

  private countEpochChanges(from: MasterState, to: MasterState): void {
    for (const c of to.chains) {
      const bumps = c.epoch - (from.chains.find((p) => p.chainId === c.chainId)?.epoch ?? 0);
      if (bumps > 0) this.epochChanges.set(c.chainId, (this.epochChanges.get(c.chainId) ?? 0) + bumps);
    }
  }

  chainsOf(id: string): ChainRecord[] {
    return this.planner.chainsOf(id);
  }

  nodeRecord(id: string): NodeRecord | undefined {
    return this.planner.state.nodes.find((n) => n.id === id);
  }

  // ---- views ---------------------------------------------------------------------------------

  /** The document behind GET /v1/cluster (its one definition: src/client/cluster-document.ts). */
  cluster(): ClusterDocument {
    const state = this.planner.state;
    return {
      replicationFactor: this.config.replicationFactor,
      heartbeatMs: this.config.heartbeatMs,
      failureTimeoutMs: this.config.failureTimeoutMs,
      leaseMs: this.config.leaseMs,
      chains: state.chains.map((c) => {
        const waitingFor = this.planner.waitingFor(c.chainId);
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
      nodes: state.nodes.map((n) => this.nodeView(n)),
      events: this.events,
    };
  }

  private nodeView(n: NodeRecord): NodeInfo {
    const state = this.planner.state;
    const alive = this.planner.liveness(n.id);
    const chain = state.chains.find((c) => c.members.includes(n.id) || c.syncing === n.id);
    // A node outside every chain (failed and removed, or standby) still shows what it last reported.
    const report = chain ? alive?.reports.find((r) => r.chainId === chain.chainId) : alive?.reports[0];
    const failed = this.planner.isFailed(n.id);
    const role = !chain ? "standby" : chain.syncing === n.id ? "syncing" : roleOf(chain, n.id);
    const tailReport = chain && chain.members.length > 0 ? this.planner.liveness(chain.members[chain.members.length - 1])?.reports.find((r) => r.chainId === chain.chainId) : undefined;
    const wallTime = this.wallTimes.get(n.id);
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
      lastHeartbeat: alive && wallTime !== undefined ? new Date(wallTime).toISOString() : null,
      heartbeatAgeMs: alive ? Math.round(this.clock.now() - alive.lastHeartbeat) : null,
    };
  }

  // ---- events --------------------------------------------------------------------------------

  private publish(planned: PlannedEvent[]): void {
    for (const p of planned) {
      const fresh: ClusterEvent = { time: new Date().toISOString(), ...p };
      const e = this.fold(fresh) ?? fresh;
      if (e === fresh) {
        this.events.push(e);
        if (this.events.length > EVENTS_KEPT) this.events.shift();
      }
      // A folded event is logged at its 1st, 10th, 100th... time, so the log stays readable too.
      const count = e.count ?? 1;
      const level = FOLDED_KINDS.has(e.kind) ? "warn" : "info";
      if (Number.isInteger(Math.log10(count))) this.log[level](e.message, { event: e.kind, chain: e.chainId, epoch: e.epoch, ...(count > 1 ? { count } : {}) });
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
