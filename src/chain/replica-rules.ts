// A replica's rules, pure: where a node stands in a layout, who may stream to it, which batches it
// takes, when it may drop entries, and when it may answer reads. Each returns a decision or a
// refusal (a CatenaError value); src/node/replica.ts acts on it.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";

export type Role = "head" | "middle" | "tail" | "single" | "syncing" | "none";

export interface Placement {
  role: Role;
  predecessorId: string | null;
  /** The node this one streams to: the next member, or the syncing node after the tail. */
  successorId: string | null;
  /** That successor is a syncing node: it copies the log but does not count toward the commit. */
  successorSyncing: boolean;
}

/** Rule 6: members in chain order, then the syncing node, which copies from the tail. */
export function placeInLayout(nodeId: string, members: readonly string[], syncing: string | null): Placement {
  const index = members.indexOf(nodeId);
  const isLast = index >= 0 && index === members.length - 1;
  const isSyncing = syncing === nodeId;
  const successorId = index < 0 ? null : isLast ? syncing : members[index + 1];
  const predecessorId = index > 0 ? members[index - 1] : isSyncing && members.length > 0 ? members[members.length - 1] : null;
  const role: Role = isSyncing ? "syncing" : index < 0 ? "none" : members.length === 1 ? "single" : index === 0 ? "head" : isLast ? "tail" : "middle";
  return { role, predecessorId, successorId, successorSyncing: isLast && syncing !== null };
}

/** Rule 4: a stream is taken only from this epoch's predecessor. */
export function upstreamRefusal(nodeId: string, epoch: number, predecessorId: string | null, hello: { epoch: number; nodeId: string }): CatenaError | null {
  if (hello.epoch < epoch) return new CatenaError(ErrorCode.staleEpoch, `epoch ${hello.epoch} is older than this node's ${epoch}`);
  if (hello.epoch > epoch || hello.nodeId !== predecessorId) {
    return new CatenaError(ErrorCode.unavailable, `node ${nodeId} does not yet know ${hello.nodeId} as its predecessor in epoch ${hello.epoch}`);
  }
  return null;
}

/** Rules 1 and 4: a batch continues this log exactly, for this chain, from no older epoch. */
export function batchRefusal(chainId: number, epoch: number, logEnd: number, batch: { chainId: number; epoch: number; firstOffset: number }): CatenaError | null {
  if (batch.chainId !== chainId) return new CatenaError(ErrorCode.badFrame, `batch for chain ${batch.chainId} on a stream of chain ${chainId}`);
  if (batch.epoch < epoch) return new CatenaError(ErrorCode.staleEpoch, `batch from epoch ${batch.epoch}, this node is in epoch ${epoch}`);
  if (batch.firstOffset !== logEnd) return new CatenaError(ErrorCode.diverged, `batch starts at offset ${batch.firstOffset} but this node's log ends at ${logEnd}`);
  return null;
}

export type TruncateDecision =
  | { kind: "truncate"; lowerCommitTo: number | null }
  | { kind: "refuse"; error: CatenaError };

/**
 * Rule 2: committed entries are never dropped by a member. Only a syncing node (not part of the
 * commit) may be told to drop entries it recorded as committed, by a tail that may itself have
 * lost them to a power loss of every node (sync "interval"/"none"): it lowers its record.
 */
export function truncateDecision(offset: number, committed: number, role: Role): TruncateDecision {
  if (offset >= committed) return { kind: "truncate", lowerCommitTo: null };
  if (role !== "syncing") return { kind: "refuse", error: new CatenaError(ErrorCode.diverged, `refusing to truncate at ${offset}: entries below ${committed} are committed`) };
  return { kind: "truncate", lowerCommitTo: offset };
}

export interface ServingFacts {
  nodeId: string;
  chainId: number;
  role: Role;
  hasLease: boolean;
  /** A DURABLE from the predecessor arrived in this epoch. */
  durableSeen: boolean;
  commitEnd: number;
  /** The commit end the predecessor said it had seen (HELLO) and this node had recorded. */
  commitFloor: number;
  recordedCommit: number;
}

/**
 * Rules 3 and 4: only the current tail, holding its lease and knowing the commit end of its epoch,
 * answers reads, LATEST and subscriptions: anything else could answer from a stale commit end.
 */
export function servingRefusal(f: ServingFacts): CatenaError | null {
  const isTail = f.role === "tail" || f.role === "single";
  if (!isTail) return new CatenaError(ErrorCode.notServing, `node ${f.nodeId} is not the tail of chain ${f.chainId}; reads go to the tail`);
  if (!f.hasLease) return new CatenaError(ErrorCode.notServing, `node ${f.nodeId} has lost contact with the master and serves no reads until it is back`);
  // After a restart the commit end starts again from what the durable watermark proves; until it
  // reaches what this node (or its predecessor) had seen committed, an answer could be stale.
  if (f.role !== "single" && (!f.durableSeen || f.commitEnd < Math.max(f.commitFloor, f.recordedCommit))) {
    return new CatenaError(ErrorCode.notServing, `node ${f.nodeId} became the tail moments ago and is still learning the commit end`);
  }
  return null;
}
