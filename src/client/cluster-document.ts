// The control plane's documents as every reader sees them: the master's GET /v1/cluster and its
// events, and a node's GET /v1/status. One definition and one check, used by the master (which
// builds them), the client library, the CLI and the TUI. A document of the wrong shape is an
// operating error for the reader, never a crash; fields an older master does not send are null.

export interface ChainInfo {
  chainId: number;
  epoch: number;
  members: string[];
  head: string | null;
  tail: string | null;
  /** The node copying the log to join at the tail, not yet a member. */
  syncing: string | null;
  /** Set while the chain waits for its last serving node to return. */
  waitingFor: string | null;
  /** "serving", "no members yet", or why the chain is unavailable. */
  status: string;
}

export interface NodeInfo {
  id: string;
  clientAddr: string;
  replicationAddr: string;
  adminAddr: string;
  chainId: number | null;
  role: string;
  /** "serving" | "syncing" | "failed" | "standby" | "silent" | "unknown" … as the master says. */
  state: string;
  logEnd: number | null;
  durableEnd: number | null;
  commitEnd: number | null;
  /** Bytes in the node's log, as it last reported. */
  bytes: number | null;
  heartbeatAgeMs: number | null;
  /** While syncing: the log end the node is catching up to. */
  syncTargetEnd: number | null;
  /** The epoch of the node's last report. */
  epoch: number | null;
  /** Wall-clock time of its last heartbeat (ISO 8601). */
  lastHeartbeat: string | null;
}

export interface ClusterEvent {
  time: string;
  kind: string;
  message: string;
  chainId?: number;
  nodeId?: string;
  epoch?: number;
  /** A refusal or warning the master saw this many times, word for word (one event, folded). */
  count?: number;
  /** When it was last seen, for a folded event. */
  lastTime?: string;
}

export interface ClusterDocument {
  chains: ChainInfo[];
  nodes: NodeInfo[];
  events: ClusterEvent[];
  replicationFactor: number | null;
  heartbeatMs: number | null;
  failureTimeoutMs: number | null;
  leaseMs: number | null;
}

export interface ChainStatus {
  chainId: number;
  startOffset: number | null;
  logEnd: number | null;
  durableEnd: number | null;
  commitEnd: number | null;
  segments: number | null;
  bytes: number | null;
  appends: number | null;
}

export interface NodeStatus {
  sync: string | null;
  dataDir: string | null;
  uptimeMs: number | null;
  lastMasterContactMs: number | null;
  chains: ChainStatus[];
}

export class BadDocument extends Error {}

type Json = Record<string, unknown>;

function object(v: unknown, what: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new BadDocument(`${what} is not an object`);
  return v as Json;
}

function array(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new BadDocument(`${what} is not an array`);
  return v;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function requiredString(o: Json, key: string, what: string): string {
  const v = str(o[key]);
  if (v === null) throw new BadDocument(`${what}.${key} is not a string`);
  return v;
}

export function parseEvent(v: unknown): ClusterEvent | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Json;
  const time = str(o.time);
  const kind = str(o.kind);
  const message = str(o.message);
  if (time === null || kind === null || message === null) return null;
  const event: ClusterEvent = { time, kind, message };
  if (num(o.chainId) !== null) event.chainId = o.chainId as number;
  if (str(o.nodeId) !== null) event.nodeId = o.nodeId as string;
  if (num(o.epoch) !== null) event.epoch = o.epoch as number;
  if (num(o.count) !== null) event.count = o.count as number;
  if (str(o.lastTime) !== null) event.lastTime = o.lastTime as string;
  return event;
}

/** The GET /v1/cluster document. Throws BadDocument when it is not one. */
export function parseCluster(v: unknown): ClusterDocument {
  const doc = object(v, "the cluster document");
  const chains = array(doc.chains, "chains").map((c, i): ChainInfo => {
    const o = object(c, `chains[${i}]`);
    const chainId = num(o.chainId);
    const epoch = num(o.epoch);
    if (chainId === null || epoch === null) throw new BadDocument(`chains[${i}] has no chainId or epoch`);
    const members = array(o.members, `chains[${i}].members`).filter((m): m is string => typeof m === "string");
    return { chainId, epoch, members, head: str(o.head), tail: str(o.tail), syncing: str(o.syncing), waitingFor: str(o.waitingFor), status: str(o.status) ?? "" };
  });
  const nodes = array(doc.nodes, "nodes").map((n, i): NodeInfo => {
    const o = object(n, `nodes[${i}]`);
    const what = `nodes[${i}]`;
    return {
      id: requiredString(o, "id", what),
      clientAddr: str(o.clientAddr) ?? "",
      replicationAddr: str(o.replicationAddr) ?? "",
      adminAddr: str(o.adminAddr) ?? "",
      chainId: num(o.chainId),
      role: str(o.role) ?? "?",
      state: str(o.state) ?? "unknown",
      logEnd: num(o.logEnd),
      durableEnd: num(o.durableEnd),
      commitEnd: num(o.commitEnd),
      bytes: num(o.bytes),
      heartbeatAgeMs: num(o.heartbeatAgeMs),
      syncTargetEnd: num(o.syncTargetEnd),
      epoch: num(o.epoch),
      lastHeartbeat: str(o.lastHeartbeat),
    };
  });
  const events = Array.isArray(doc.events) ? doc.events.map(parseEvent).filter((e): e is ClusterEvent => e !== null) : [];
  return { chains, nodes, events, replicationFactor: num(doc.replicationFactor), heartbeatMs: num(doc.heartbeatMs), failureTimeoutMs: num(doc.failureTimeoutMs), leaseMs: num(doc.leaseMs) };
}

/** A node's GET /v1/status document. Throws BadDocument when it is not one. */
export function parseNodeStatus(v: unknown): NodeStatus {
  const doc = object(v, "the node status");
  const chains = (Array.isArray(doc.chains) ? doc.chains : []).map((c, i): ChainStatus => {
    const o = object(c, `chains[${i}]`);
    return {
      chainId: num(o.chainId) ?? 0,
      startOffset: num(o.startOffset),
      logEnd: num(o.logEnd),
      durableEnd: num(o.durableEnd),
      commitEnd: num(o.commitEnd),
      segments: num(o.segments),
      bytes: num(o.bytes),
      appends: num(o.appends),
    };
  });
  return { sync: str(doc.sync), dataDir: str(doc.dataDir), uptimeMs: num(doc.uptimeMs), lastMasterContactMs: num(doc.lastMasterContactMs), chains };
}
