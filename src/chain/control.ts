// The control plane's records: what the master persists about chains and nodes, what a node
// reports in every heartbeat, and the events the master's planning produces. Types and limits
// only, shared by the planner, the master, the node and the state checks.

export interface NodeRecord {
  id: string;
  clientAddr: string;
  replicationAddr: string;
  adminAddr: string;
}

export interface ChainRecord {
  chainId: number;
  epoch: number;
  /** Serving members in chain order: head first, tail last. */
  members: string[];
  /** A node copying the log from the tail; it becomes the tail once caught up. */
  syncing: string | null;
  /**
   * The highest commit end every member was seen to hold (saved at most about once a second, so a
   * lower bound of the chain's commit end). A member under sync = "always" that comes back with a
   * shorter log has lost acknowledged entries; see MasterPlanner.join. Absent in older files.
   */
  commitFloor?: number;
}

/** What the master must not forget: written atomically and fsynced before any node hears of it. */
export interface MasterState {
  version: 1;
  chains: ChainRecord[];
  nodes: NodeRecord[];
}

/** What a node reports about each of its replicas in every heartbeat. */
export interface ChainReport {
  chainId: number;
  epoch: number;
  role: string;
  logEnd: number;
  durableEnd: number;
  /** What the node counts toward the commit: durable under sync "always", written otherwise. */
  ackableEnd: number;
  commitEnd: number;
  bytes: number;
  /** The predecessor accepted this replica's log and streams to it in this epoch (a DURABLE
   * arrived on the checked stream). The master promotes a syncing node only once this is true. */
  checked?: boolean;
  /** In this epoch the node found that its successor holds committed entries its log lacks. */
  lacksCommitted?: boolean;
}

export interface NodeLimits {
  recordBytesMax: number;
  batchBytesMax: number;
}

export interface JoinRequest extends NodeRecord {
  chains: ChainReport[];
  /** The node's log.sync policy (absent from older nodes). */
  sync?: string;
  /** The node's record and batch limits, which every node of a chain must share. */
  limits?: NodeLimits;
}

export type ClusterEventKind = "joined" | "failed" | "recovered" | "reconfigured" | "syncing" | "caught-up" | "waiting" | "refused" | "warning" | "removed";

/** What the planner says happened; the master stamps it with the time when it publishes it. */
export interface PlannedEvent {
  kind: ClusterEventKind;
  message: string;
  chainId?: number;
  nodeId?: string;
  epoch?: number;
}

export interface ClusterEvent extends PlannedEvent {
  time: string;
  /** Refusals and warnings repeated word for word are one event: how many times, and the latest. */
  count?: number;
  lastTime?: string;
}

/** Epochs stop well short of 2^53 so that a forged or damaged one cannot run them out. */
export const EPOCH_MAX = 2 ** 48;

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
