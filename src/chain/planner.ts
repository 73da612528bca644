// The master's rules, pure: membership, failure detection, placement, reconfiguration, syncing
// and promotion. Events come in with the time inside them (a join, a heartbeat, a tick of the
// failure detector, an operator's removal); each step gives back a Ready: the next state to
// persist and the events that describe it. The caller persists the state, then calls advance()
// and only then tells anyone (etcd-io/raft's Ready: persist before you send). No clock, timer,
// file or network in here.

import { isSyncPolicy, syncRules } from "./sync-policy.ts";
import { EPOCH_MAX, type ChainRecord, type ChainReport, type JoinRequest, type MasterState, type NodeLimits, type NodeRecord, type PlannedEvent } from "./control.ts";

export interface PlannerConfig {
  /** Nodes per chain. */
  replicationFactor: number;
  /** Silence after which a node is declared failed. */
  failureTimeoutMs: number;
}

export interface Ready {
  /** The state to persist before anything of this step is told to anyone; null: unchanged. */
  state: MasterState | null;
  events: PlannedEvent[];
}

export interface Step extends Ready {
  /** The chains the asking node belongs to, as of this step's state (join, heartbeat). */
  chains: ChainRecord[];
  /** Why the request was refused; the step then changes no state. */
  refused?: string;
  /** The heartbeat came from a node the master does not know: it must join. */
  unknown?: boolean;
}

export interface Liveness {
  /** The caller's clock at the last heartbeat or join. */
  lastHeartbeat: number;
  reports: ChainReport[];
}

/** How often the chains' commit floors may be written to the state. */
export const COMMIT_FLOOR_SAVE_MS = 1000;

export class MasterPlanner {
  private persisted: MasterState;
  private readonly live = new Map<string, Liveness>();
  private readonly failed = new Set<string>();
  private readonly waiting = new Map<number, string>();
  /** The highest commit end every member was seen to hold, per chain (saved by saveCommitFloors). */
  private readonly commitSeen = new Map<number, number>();
  /** The limits each node reported when it joined (this planner's lifetime). */
  private readonly limits = new Map<string, NodeLimits>();
  private commitFloorSavedAt = -Infinity;
  private readonly started: number;
  // The step in progress: the draft of the next state, its events, and its time.
  private draft: MasterState;
  private pending: PlannedEvent[] = [];
  private now = 0;

  constructor(
    private readonly config: PlannerConfig,
    state: MasterState,
    now: number,
  ) {
    this.persisted = state;
    this.draft = state;
    this.started = now;
  }

  /** The last persisted state (advanced). */
  get state(): MasterState {
    return this.persisted;
  }

  /** The caller persisted `ready.state`: it is now the state every later step starts from. */
  advance(ready: Ready): void {
    if (ready.state) this.persisted = ready.state;
  }

  liveness(id: string): Liveness | undefined {
    return this.live.get(id);
  }

  isFailed(id: string): boolean {
    return this.failed.has(id);
  }

  /** The last serving node a chain waits for, if it waits. */
  waitingFor(chainId: number): string | null {
    return this.waiting.get(chainId) ?? null;
  }

  silenceMs(id: string, now: number): number {
    // After a master restart every known node gets a full failure timeout to check in.
    return now - (this.live.get(id)?.lastHeartbeat ?? this.started);
  }

  // ---- steps ---------------------------------------------------------------------------------

  join(req: JoinRequest, now: number): Step {
    this.begin(now);
    const known = this.draft.nodes.find((n) => n.id === req.id);
    const record: NodeRecord = { id: req.id, clientAddr: req.clientAddr, replicationAddr: req.replicationAddr, adminAddr: req.adminAddr };
    const moved = known !== undefined && (known.clientAddr !== req.clientAddr || known.replicationAddr !== req.replicationAddr || known.adminAddr !== req.adminAddr);
    if (moved && this.isAlive(req.id)) {
      const message = `node id "${req.id}" is in use by a live node at ${known.clientAddr}; a second node with that id (at ${req.clientAddr}) was refused`;
      this.event({ kind: "refused", message, nodeId: req.id });
      return { ...this.finish(), chains: [], refused: `${message}: give this node another id` };
    }
    if (!known) this.draft.nodes.push(record);
    else if (moved) Object.assign(known, record);
    this.adoptEpochs(req.id, req.chains);
    const chain = this.draft.chains[0];
    const placement = this.place(chain, req);
    this.live.set(req.id, { lastHeartbeat: now, reports: req.chains });
    this.failed.delete(req.id);
    this.event({ kind: "joined", message: `node ${req.id} joined ${placement} (epoch ${chain.epoch})`, nodeId: req.id, chainId: chain.chainId, epoch: chain.epoch });
    this.checkLimits(req);
    this.reconfigureAll();
    return { ...this.finish(), chains: this.chainsOf(req.id, this.draft) };
  }

  heartbeat(id: string, reports: ChainReport[], now: number): Step {
    this.begin(now);
    if (!this.draft.nodes.some((n) => n.id === id)) return { ...this.finish(), chains: [], unknown: true };
    const problem = this.checkReports(id, reports);
    if (problem) return { ...this.finish(), chains: [], refused: problem };
    this.adoptEpochs(id, reports);
    this.live.set(id, { lastHeartbeat: now, reports });
    for (const r of reports) {
      const chain = this.draft.chains.find((c) => c.chainId === r.chainId);
      if (!chain || r.epoch !== chain.epoch || !chain.members.includes(id)) continue;
      this.raiseCommitSeen(chain);
      if (r.lacksCommitted === true && chain.members.length > 1) this.dropLacking(chain, id);
    }
    if (this.failed.delete(id)) {
      this.event({ kind: "recovered", message: `node ${id} is heartbeating again`, nodeId: id });
      this.reconfigureAll();
    }
    return { ...this.finish(), chains: this.chainsOf(id, this.draft) };
  }

  /** The failure detector's tick: declares silent nodes failed and reconfigures. */
  tick(now: number): Ready {
    this.begin(now);
    this.saveCommitFloors();
    for (const n of this.draft.nodes) {
      if (!this.isAlive(n.id) && !this.failed.has(n.id)) {
        this.failed.add(n.id);
        this.event({ kind: "failed", message: `node ${n.id} failed: no heartbeat for ${Math.round(this.silenceMs(n.id, now))} ms`, nodeId: n.id });
      }
    }
    this.reconfigureAll();
    return this.finish();
  }

  /**
   * Forgets a node that is failed or a standby (an operator's `catena nodes remove`). A member or
   * syncing node is refused: it leaves a chain by failing, and a failed member still listed is
   * the chain's last serving node, the only one known to hold every committed entry.
   */
  removeNode(id: string, now: number): Step {
    this.begin(now);
    const refuse = (refused: string): Step => ({ ...this.finish(), chains: [], refused });
    if (!this.draft.nodes.some((n) => n.id === id)) return { ...refuse(`no node "${id}" is known to the master`), unknown: true };
    for (const c of this.draft.chains) {
      if (c.members.includes(id) && this.failed.has(id)) {
        return refuse(`node ${id} is chain ${c.chainId}'s last serving node: the chain waits for it, as no other replica is known to hold every committed entry; bring it back instead`);
      }
      if (c.members.includes(id)) return refuse(`node ${id} serves chain ${c.chainId} as its ${roleOf(c, id)}: stop the node first; once the master has replaced it, remove it`);
      if (c.syncing === id) return refuse(`node ${id} is copying chain ${c.chainId}'s log: stop the node first, then remove it`);
    }
    this.draft.nodes = this.draft.nodes.filter((n) => n.id !== id);
    const was = this.failed.has(id) ? "failed" : "standby";
    this.event({ kind: "removed", message: `node ${id} (${was}) was removed by an operator${this.isAlive(id) ? "; it is still heartbeating and will join again unless it is stopped" : ""}`, nodeId: id });
    this.live.delete(id);
    this.failed.delete(id);
    this.limits.delete(id);
    return { ...this.finish(), chains: [] };
  }

  chainsOf(id: string, state: MasterState = this.persisted): ChainRecord[] {
    return state.chains.filter((c) => c.members.includes(id) || c.syncing === id);
  }

  private begin(now: number): void {
    this.now = now;
    this.draft = structuredClone(this.persisted);
    this.pending = [];
  }

  private finish(): Ready {
    const changed = JSON.stringify(this.draft) !== JSON.stringify(this.persisted);
    const ready = { state: changed ? this.draft : null, events: this.pending };
    this.pending = [];
    return ready;
  }

  private event(e: PlannedEvent): void {
    this.pending.push(e);
  }

  private isAlive(id: string): boolean {
    return this.silenceMs(id, this.now) <= this.config.failureTimeoutMs;
  }

  // ---- joining ---------------------------------------------------------------------------------

  /** Where a joining node goes; returns the words for its "joined" event. */
  private place(chain: ChainRecord, req: JoinRequest): string {
    const lostEnd = this.lostCommitted(chain, req);
    const member = chain.members.includes(req.id);
    if (lostEnd !== null && chain.members.length > 1 && member) {
      // Under sync = "always" a member holds every committed entry on disk; one that comes back
      // without them (a wiped or replaced disk, a segment cut by recovery) must not serve or lead
      // the chain with its short log: it leaves the chain and copies the log again.
      chain.members = chain.members.filter((m) => m !== req.id);
      chain.epoch++;
      return `as a standby: its log ends at ${lostEnd}, below chain ${chain.chainId}'s commit end ${this.commitFloor(chain)}, so it lost committed entries (a wiped disk?); it left the chain and will copy the log again`;
    }
    if (member || chain.syncing === req.id) {
      if (lostEnd !== null && member) {
        this.event({
          kind: "warning",
          message: `node ${req.id}, the last serving member of chain ${chain.chainId}, came back with its log ending at ${lostEnd}, below the chain's commit end ${this.commitFloor(chain)}: committed entries are lost from every replica; restore its data directory if you can`,
          chainId: chain.chainId,
          nodeId: req.id,
        });
      }
      // A node that joins again has restarted: it may have lost an unsynced tail. A new epoch makes
      // every link of the chain handshake again, so its log is checked against its neighbours'.
      chain.epoch++;
      return member ? `back as a member of chain ${chain.chainId}` : `back as chain ${chain.chainId}'s syncing node`;
    }
    if (chain.members.length === 0 && chain.syncing === null) {
      chain.members.push(req.id);
      chain.epoch++;
      return `as the first member of chain ${chain.chainId}`;
    }
    return "as a standby";
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

  /** The log end of a node whose acknowledged entries are durable (sync "always") and whose log stops short of the chain's commit floor, else null. */
  private lostCommitted(chain: ChainRecord, req: JoinRequest): number | null {
    const floor = this.commitFloor(chain);
    if (!isSyncPolicy(req.sync) || !syncRules(req.sync).durableAcks || floor === 0) return null;
    const end = req.chains.find((r) => r.chainId === chain.chainId)?.logEnd ?? 0;
    return end < floor ? end : null;
  }

  private commitFloor(chain: ChainRecord): number {
    return Math.max(chain.commitFloor ?? 0, this.commitSeen.get(chain.chainId) ?? 0);
  }

  /**
   * Nodes learn epochs only from a master, so a node reporting a later epoch than the state holds
   * means the state is behind (restored from an old copy, or removed): say so and go on from the
   * nodes' epoch, rather than hand out epochs every node ignores.
   */
  private adoptEpochs(id: string, reports: ChainReport[]): void {
    for (const r of reports) {
      const chain = this.draft.chains.find((c) => c.chainId === r.chainId);
      if (!chain || r.epoch <= chain.epoch || r.epoch >= EPOCH_MAX) continue;
      this.event({
        kind: "warning",
        message: `the master's state is behind the nodes: node ${id} reports epoch ${r.epoch} of chain ${chain.chainId}, the state holds ${chain.epoch} (was the state restored from an old copy, or removed?); the chain goes on from epoch ${r.epoch + 1}`,
        chainId: chain.chainId,
        nodeId: id,
        epoch: r.epoch + 1,
      });
      chain.epoch = r.epoch + 1;
    }
  }

  // ---- heartbeats ------------------------------------------------------------------------------

  /**
   * A report that contradicts itself is refused whole (with a "refused" event): a forged or broken
   * heartbeat must not reach the commit floor, which outlives restarts in the state.
   */
  private checkReports(id: string, reports: ChainReport[]): string | null {
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
      return message;
    }
    return null;
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

  /** A member whose successor holds committed entries it lacks leaves the chain and copies the log
   * again (it lost them to a power loss under "interval"/"none", or its disk was replaced): with
   * it in place, its successor refuses its stream and nothing commits. */
  private dropLacking(chain: ChainRecord, id: string): void {
    chain.members = chain.members.filter((m) => m !== id);
    chain.epoch++;
    this.event({
      kind: "reconfigured",
      message: `chain ${chain.chainId}: ${id} lacks committed entries its successor holds (lost to a power loss or a replaced disk); it leaves the chain, now ${chain.members.join(" -> ")} (epoch ${chain.epoch}), and will copy the log again`,
      chainId: chain.chainId,
      nodeId: id,
      epoch: chain.epoch,
    });
  }

  /** Saves the commit ends members reported, at most once every COMMIT_FLOOR_SAVE_MS. */
  private saveCommitFloors(): void {
    if (this.now - this.commitFloorSavedAt < COMMIT_FLOOR_SAVE_MS) return;
    const raised = this.draft.chains.filter((c) => (this.commitSeen.get(c.chainId) ?? 0) > (c.commitFloor ?? 0));
    if (raised.length === 0) return;
    this.commitFloorSavedAt = this.now;
    for (const c of raised) c.commitFloor = this.commitSeen.get(c.chainId);
  }

  // ---- reconfiguration -------------------------------------------------------------------------

  /** Moves every chain one step toward full, healthy membership. */
  private reconfigureAll(): void {
    for (const chain of this.draft.chains) this.reconfigure(chain);
  }

  private reconfigure(chain: ChainRecord): void {
    const failed = (id: string) => this.failed.has(id);
    if (chain.syncing && failed(chain.syncing)) {
      const gone = chain.syncing;
      chain.syncing = null;
      chain.epoch++;
      this.event({ kind: "reconfigured", message: `chain ${chain.chainId}: syncing node ${gone} failed and was dropped (epoch ${chain.epoch})`, chainId: chain.chainId, epoch: chain.epoch });
    }
    for (const id of chain.members.filter(failed)) this.removeFailedMember(chain, id);
    if (chain.members.length > 0 && !failed(chain.members[0])) this.waiting.delete(chain.chainId);
    const allServing = chain.members.length > 0 && chain.members.every((m) => !failed(m));
    if (allServing && chain.syncing === null && chain.members.length < this.config.replicationFactor) this.startSyncing(chain);
    if (chain.syncing && allServing && this.caughtUp(chain, chain.syncing)) {
      const id = chain.syncing;
      chain.members.push(id);
      chain.syncing = null;
      chain.epoch++;
      this.event({ kind: "caught-up", message: `chain ${chain.chainId}: node ${id} caught up and is the new tail; chain is now ${chain.members.join(" -> ")} (epoch ${chain.epoch})`, chainId: chain.chainId, nodeId: id, epoch: chain.epoch });
    }
  }

  private removeFailedMember(chain: ChainRecord, id: string): void {
    if (chain.members.length === 1) {
      // The last serving replica holds every committed entry; nobody else may take its place.
      if (this.waiting.get(chain.chainId) !== id) {
        this.waiting.set(chain.chainId, id);
        this.event({ kind: "waiting", message: `chain ${chain.chainId}: its last serving node ${id} failed; the chain waits for it to return (no other replica is known to hold every committed entry)`, chainId: chain.chainId, nodeId: id });
      }
      return;
    }
    const role = roleOf(chain, id);
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

  /** A live node outside every chain starts copying the log from the tail. */
  private startSyncing(chain: ChainRecord): void {
    const candidate = this.draft.nodes.find((n) => !this.failed.has(n.id) && this.live.has(n.id) && !this.draft.chains.some((c) => c.members.includes(n.id) || c.syncing === n.id));
    if (!candidate) return;
    chain.syncing = candidate.id;
    chain.epoch++;
    this.event({ kind: "syncing", message: `chain ${chain.chainId}: node ${candidate.id} is copying the log from tail ${chain.members[chain.members.length - 1]} (epoch ${chain.epoch})`, chainId: chain.chainId, nodeId: candidate.id, epoch: chain.epoch });
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

  /** A node's last report about `chain`, if it is of the chain's current epoch. */
  report(id: string, chain: ChainRecord): ChainReport | undefined {
    const r = this.live.get(id)?.reports.find((x) => x.chainId === chain.chainId);
    return r && r.epoch === chain.epoch ? r : undefined;
  }
}

export function roleOf(chain: ChainRecord, id: string): string {
  const i = chain.members.indexOf(id);
  if (chain.members.length === 1) return "head+tail";
  return i === 0 ? "head" : i === chain.members.length - 1 ? "tail" : "middle";
}
