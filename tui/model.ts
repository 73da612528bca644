// From a feed to what each row of the screen says: order, lag, rates, sync progress. Pure.

import type { ChainInfo, ClusterDocument, NodeInfo, NodeStatus } from "../src/client/cluster-document.ts";
import { rateAt, sparkline } from "./metrics.ts";
import { orderNodes } from "./order.ts";

export { orderNodes };
import type { Feed, StatusEntry } from "./state.ts";

export type Tone = "ok" | "warn" | "bad" | "idle";

export interface SyncProgress {
  done: number;
  target: number;
  fraction: number;
  entriesPerSec: number | null;
  bytesPerSec: number | null;
  secondsLeft: number | null;
}

export interface NodeRow {
  node: NodeInfo;
  tone: Tone;
  lagEntries: number | null;
  lagBytes: number | null;
  rate: number | null;
  spark: string;
  sync: SyncProgress | null;
}

/** A node status older than this is not used for byte counts. */
export const statusFreshMs = 5000;

export function toneOf(state: string): Tone {
  if (state === "serving") return "ok";
  if (state === "syncing") return "warn";
  if (state === "standby") return "idle";
  return "bad"; // failed, silent, unknown, and anything this TUI does not know yet
}

/** The chain a node belongs to, or (for a node outside every chain) the first chain. */
export function chainOf(snapshot: ClusterDocument, node: NodeInfo): ChainInfo | null {
  return snapshot.chains.find((c) => c.chainId === node.chainId) ?? snapshot.chains.find((c) => c.members.includes(node.id)) ?? snapshot.chains[0] ?? null;
}

function freshStatus(entry: StatusEntry | undefined, now: number): NodeStatus | null {
  return entry?.status && now - entry.at <= statusFreshMs ? entry.status : null;
}

function chainStatus(status: NodeStatus | null, chainId: number) {
  return status?.chains.find((c) => c.chainId === chainId) ?? (status?.chains.length === 1 ? status.chains[0] : null);
}

/** Average bytes per entry in a node's log: from the master's document, else the node's /v1/status. */
function entryBytes(node: NodeInfo | undefined, status: NodeStatus | null, chainId: number): number | null {
  const c = chainStatus(status, chainId);
  const bytes = node?.bytes ?? c?.bytes ?? null;
  const logEnd = node?.logEnd ?? c?.logEnd ?? null;
  if (bytes === null || logEnd === null) return null;
  const entries = logEnd - (c?.startOffset ?? 0);
  return entries > 0 ? bytes / entries : null;
}

export function nodeRows(feed: Feed, sparkWidth: number): NodeRow[] {
  const snapshot = feed.cluster;
  if (!snapshot) return [];
  const now = feed.polledAt;
  return orderNodes(snapshot).map((node) => {
    const chain = chainOf(snapshot, node);
    const chainId = chain?.chainId ?? 0;
    const headId = chain?.head ?? null;
    const head = headId === null ? undefined : snapshot.nodes.find((n) => n.id === headId);
    const headStatus = headId === null ? null : freshStatus(feed.statuses[headId], now);
    const ownStatus = freshStatus(feed.statuses[node.id], now);
    const perEntry = entryBytes(head, headStatus, chainId) ?? entryBytes(node, ownStatus, chainId);
    const lagEntries = head?.logEnd != null && node.logEnd !== null ? Math.max(0, head.logEnd - node.logEnd) : null;
    const samples = feed.tracks[node.id]?.samples ?? [];
    const rate = node.logEnd === null ? null : rateAt(samples, now);
    return {
      node,
      tone: toneOf(node.state),
      lagEntries,
      lagBytes: lagBytesOf(lagEntries, head, node, chainStatus(headStatus, chainId)?.bytes ?? null, chainStatus(ownStatus, chainId)?.bytes ?? null, perEntry),
      rate,
      spark: sparkline(samples, now, sparkWidth),
      sync: node.state === "syncing" ? syncProgress(node, head?.logEnd ?? null, rate, perEntry) : null,
    };
  });
}

/**
 * The head's log bytes minus the node's: from the master's document (both reported by heartbeat),
 * else from their /v1/status, else estimated from the average entry size.
 */
function lagBytesOf(
  lagEntries: number | null, head: NodeInfo | undefined, node: NodeInfo, headStatusBytes: number | null, ownStatusBytes: number | null, perEntry: number | null,
): number | null {
  if (lagEntries === 0) return 0;
  if (head?.bytes != null && node.bytes !== null) return Math.max(0, head.bytes - node.bytes);
  if (headStatusBytes !== null && ownStatusBytes !== null) return Math.max(0, headStatusBytes - ownStatusBytes);
  if (lagEntries !== null && perEntry !== null) return Math.round(lagEntries * perEntry);
  return null;
}

export function syncProgress(node: NodeInfo, headLogEnd: number | null, rate: number | null, perEntry: number | null): SyncProgress | null {
  const target = node.syncTargetEnd ?? headLogEnd;
  if (target === null || node.logEnd === null) return null;
  const done = Math.min(node.logEnd, target);
  const left = target - done;
  return {
    done,
    target,
    fraction: target > 0 ? done / target : 1,
    entriesPerSec: rate,
    bytesPerSec: rate !== null && perEntry !== null ? rate * perEntry : null,
    secondsLeft: left === 0 ? 0 : rate ? left / rate : null,
  };
}
