// Membership: nodes join and heartbeat; the master orders each chain by join order, bumps the
// chain's epoch on every change and persists the state before answering anyone.

import type { MasterConfig } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import { StateFile, type ChainRecord, type MasterState, type NodeRecord } from "./state.ts";

export interface ChainReport {
  chainId: number;
  logEnd: number;
  durableEnd: number;
  commitEnd: number;
  role: string;
}

interface Liveness {
  lastHeartbeat: number;
  reports: ChainReport[];
}

export interface JoinRequest extends NodeRecord {
  chains: ChainReport[];
}

export class JoinRefused extends Error {}

export interface ClusterEvent {
  time: string;
  kind: string;
  message: string;
}

const EVENTS_KEPT = 100;

export class Master {
  private state: MasterState;
  private readonly store: StateFile;
  private readonly live = new Map<string, Liveness>();
  readonly events: ClusterEvent[] = [];
  readonly startedAt = Date.now();

  constructor(
    readonly config: MasterConfig,
    private readonly log: Logger,
  ) {
    this.store = new StateFile(config.stateDir);
    this.state = this.store.load();
    for (const c of this.state.chains) this.log.info("chain loaded", { chain: c.chainId, epoch: c.epoch, members: c.members });
  }

  join(req: JoinRequest): ChainRecord[] {
    const now = Date.now();
    const known = this.state.nodes.find((n) => n.id === req.id);
    const alive = this.live.get(req.id);
    const record: NodeRecord = { id: req.id, clientAddr: req.clientAddr, replicationAddr: req.replicationAddr, adminAddr: req.adminAddr };
    const moved = known && (known.clientAddr !== req.clientAddr || known.replicationAddr !== req.replicationAddr || known.adminAddr !== req.adminAddr);
    if (moved && alive && now - alive.lastHeartbeat < this.config.failureTimeoutMs) {
      throw new JoinRefused(`node id "${req.id}" is in use by a live node at ${known!.clientAddr}; give this node another id`);
    }
    const next = structuredClone(this.state);
    if (!known) next.nodes.push(record);
    else if (moved) Object.assign(next.nodes.find((n) => n.id === req.id)!, record);
    const chain = next.chains[0];
    const member = chain.members.includes(req.id);
    if (!member && chain.members.length < this.config.replicationFactor) {
      chain.members.push(req.id);
      chain.epoch++;
    } else if (member && moved) {
      chain.epoch++;
    }
    this.commitState(next);
    this.live.set(req.id, { lastHeartbeat: now, reports: req.chains });
    this.event("joined", `node ${req.id} joined${chain.members.includes(req.id) ? ` chain ${chain.chainId} at position ${chain.members.indexOf(req.id) + 1} (epoch ${chain.epoch})` : " as a standby"}`);
    return this.chainsOf(req.id);
  }

  /** Returns the node's chains, or null if the node is unknown and must join. */
  heartbeat(id: string, reports: ChainReport[]): ChainRecord[] | null {
    if (!this.state.nodes.some((n) => n.id === id) || !this.live.has(id)) return null;
    this.live.set(id, { lastHeartbeat: Date.now(), reports });
    return this.chainsOf(id);
  }

  chainsOf(id: string): ChainRecord[] {
    return this.state.chains.filter((c) => c.members.includes(id));
  }

  nodeRecord(id: string): NodeRecord | undefined {
    return this.state.nodes.find((n) => n.id === id);
  }

  /** The document behind GET /v1/cluster. */
  cluster() {
    const now = Date.now();
    return {
      replicationFactor: this.config.replicationFactor,
      heartbeatMs: this.config.heartbeatMs,
      failureTimeoutMs: this.config.failureTimeoutMs,
      chains: this.state.chains.map((c) => ({
        chainId: c.chainId,
        epoch: c.epoch,
        members: c.members,
        head: c.members[0] ?? null,
        tail: c.members[c.members.length - 1] ?? null,
      })),
      nodes: this.state.nodes.map((n) => {
        const alive = this.live.get(n.id);
        const chain = this.state.chains.find((c) => c.members.includes(n.id));
        const report = alive?.reports.find((r) => r.chainId === chain?.chainId);
        const age = alive ? now - alive.lastHeartbeat : null;
        return {
          ...n,
          chainId: chain?.chainId ?? null,
          role: chain ? roleOf(chain, n.id) : "standby",
          state: age === null ? "unknown" : age > this.config.failureTimeoutMs ? "silent" : chain ? "serving" : "standby",
          logEnd: report?.logEnd ?? null,
          durableEnd: report?.durableEnd ?? null,
          commitEnd: report?.commitEnd ?? null,
          lastHeartbeat: alive ? new Date(alive.lastHeartbeat).toISOString() : null,
          heartbeatAgeMs: age,
        };
      }),
      events: this.events,
    };
  }

  private commitState(next: MasterState): void {
    if (JSON.stringify(next) === JSON.stringify(this.state)) return;
    this.store.save(next);
    this.state = next;
  }

  private event(kind: string, message: string): void {
    this.events.push({ time: new Date().toISOString(), kind, message });
    if (this.events.length > EVENTS_KEPT) this.events.shift();
    this.log.info(message, { event: kind });
  }
}

function roleOf(chain: ChainRecord, id: string): string {
  const i = chain.members.indexOf(id);
  if (chain.members.length === 1) return "head+tail";
  return i === 0 ? "head" : i === chain.members.length - 1 ? "tail" : "middle";
}
