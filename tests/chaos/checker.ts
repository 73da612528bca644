// Checks a run's history against the logs the nodes hold once every fault has healed. Every value
// is unique and every acknowledgement carries offsets, so a history is checked with maps and one
// pass in time order — no search for a linearization is needed.
//
// "Final log": the tail's log after healing (every member's must be the same). Under
// sync = "always" nothing is excused. Under "interval" and "none" a power loss of every node at
// once may lose acknowledged entries (README). For each such loss, the lowest offset where
// something recorded before the nodes were started again disagrees with the final log is that
// loss's cut; what was recorded before the restart at or above the cut belongs to a log that is
// gone and is not compared, and an acknowledged entry lost there must have been acknowledged at
// most `lossWindowMs` before the kills. Nothing below `keptEnd` is excused: every member of the
// chain kept its log up to there through the loss, and every member held every committed entry,
// so a correct chain still has them (docs/testing.md bug 2: a node whose log holds another history
// made the chain's, and a later loss would otherwise have excused what it dropped).

import type { HistoryEvent } from "./history.ts";

export interface ReplicaLog {
  node: string;
  member: boolean;
  /** Entries below this were committed when the node last recorded it (commit-end file). */
  recordedCommit: number;
  entries: { offset: number; payload: string; clientId: number; requestId: number }[];
}

export interface CheckInput {
  events: HistoryEvent[];
  replicas: ReplicaLog[];
  /** The node whose log is the final log (the tail). */
  finalNode: string;
  /** Each power loss of every node at once (performance.now()); empty under sync = "always". */
  losses: { killedAt: number; restartedAt: number; keptEnd?: number }[];
  lossWindowMs: number;
}

export interface Violation {
  property: string;
  message: string;
  events: HistoryEvent[];
}

export interface CheckResult {
  violations: Violation[];
  /** Violations per property, including those not listed (only the first few of each are kept). */
  counts: Record<string, number>;
  stats: Record<string, number>;
}

const KEPT_PER_PROPERTY = 5;

/** A payload as written: the value, padded with "x" when the append was made too large on purpose. */
export function valueOf(payload: string): string {
  return payload.replace(/x+$/, "");
}

export function check(input: CheckInput): CheckResult {
  const violations: Violation[] = [];
  const counts: Record<string, number> = {};
  const fail = (property: string, message: string, events: HistoryEvent[] = []): void => {
    counts[property] = (counts[property] ?? 0) + 1;
    if (counts[property] <= KEPT_PER_PROPERTY) violations.push({ property, message, events });
  };
  const stats: Record<string, number> = {};
  const count = (k: string, n = 1) => (stats[k] = (stats[k] ?? 0) + n);

  const finalReplica = input.replicas.find((r) => r.node === input.finalNode);
  if (!finalReplica) throw new Error(`no log for the final node ${input.finalNode}`);
  const final = finalReplica.entries.map((e) => valueOf(e.payload));
  const finalStart = finalReplica.entries[0]?.offset ?? 0;
  const at = (offset: number): string | undefined => final[offset - finalStart];
  stats.finalLength = finalStart + final.length;

  // Replicas: members byte-identical; a standby agrees below what it recorded as committed (unless
  // a power loss of every node may have taken committed entries away since it recorded that).
  for (const r of input.replicas) {
    if (r === finalReplica || (!r.member && input.losses.length > 0)) continue;
    const upTo = r.member ? Math.max(r.entries.length, finalReplica.entries.length) : Math.min(r.recordedCommit - finalStart, r.entries.length);
    for (let i = 0; i < upTo; i++) {
      const a = r.entries[i];
      const b = finalReplica.entries[i];
      if (!a || !b || a.offset !== b.offset || a.payload !== b.payload || a.clientId !== b.clientId || a.requestId !== b.requestId) {
        const where = `${r.node}: ${JSON.stringify(a ?? "nothing")}, ${input.finalNode}: ${JSON.stringify(b ?? "nothing")}`;
        fail(r.member ? "replicas-identical" : "standby-committed-prefix", `${r.node} differs from ${input.finalNode} at entry ${i} (${where}); ${r.node} holds ${r.entries.length} entries, ${input.finalNode} ${finalReplica.entries.length}`);
        break;
      }
    }
  }

  // Appends by value: who wrote it, and how it ended.
  const invokes = new Map<number, HistoryEvent>();
  const completion = new Map<number, HistoryEvent>();
  const appendOf = new Map<string, number>();
  for (const e of input.events) {
    if (e.type === "invoke") invokes.set(e.id, e);
    else if (e.type !== "nemesis" && e.f !== "deliver") completion.set(e.id, e);
    if (e.type === "invoke" && e.f === "append") for (const v of e.values ?? []) appendOf.set(v, e.id);
  }
  const failedValue = (v: string) => completion.get(appendOf.get(v) ?? -1)?.type === "fail";

  // The final log: each value once, each one appended, none whose append definitely failed.
  const seen = new Map<string, number>();
  for (const [i, v] of final.entries()) {
    const offset = finalStart + i;
    const before = seen.get(v);
    if (before !== undefined) fail("no-duplicates", `${JSON.stringify(v)} is in the final log at offsets ${before} and ${offset}`, eventsOf(appendOf.get(v)));
    seen.set(v, offset);
    if (!appendOf.has(v)) fail("no-phantom", `the final log holds ${JSON.stringify(v)} at ${offset}, which no client appended`);
    else if (failedValue(v)) fail("no-failed-visible", `the final log holds ${JSON.stringify(v)} at ${offset}, whose append definitely failed`, eventsOf(appendOf.get(v)));
  }

  // Power losses under weaker sync policies: where each one cut the log.
  const observations: { t: number; offset: number; value: string | null; ev: HistoryEvent }[] = [];
  for (const e of input.events) {
    if (e.type === "ok" && e.f === "append") (invokes.get(e.id)?.values ?? []).forEach((v, i) => observations.push({ t: e.t, offset: e.offsets![i], value: v, ev: e }));
    if (e.type === "ok" && e.entries) for (const [o, p] of e.entries) observations.push({ t: e.t, offset: o, value: valueOf(p), ev: e });
    if (e.type === "ok" && e.commitEnd !== undefined && e.commitEnd > stats.finalLength) observations.push({ t: e.t, offset: stats.finalLength, value: null, ev: e });
  }
  const cuts = input.losses.map(({ killedAt, restartedAt: t, keptEnd }) => {
    let cut = Infinity;
    for (const o of observations) if (o.t < t && (o.value === null || at(o.offset) !== o.value)) cut = Math.min(cut, o.offset);
    // A loss cannot have taken what every member kept through it.
    return { t, killedAt, cut: Math.max(cut, keptEnd ?? 0) };
  });
  const excused = (t: number, offset: number) => cuts.some((c) => t < c.t && offset >= c.cut);
  // When each value was first seen at an offset (acknowledged, read or delivered there).
  const firstSeen = new Map<string, { offset: number; t: number }>();
  for (const o of observations) if (o.value !== null && !firstSeen.has(o.value)) firstSeen.set(o.value, { offset: o.offset, t: o.t });
  // The restart that began the era an operation completed in (-Infinity before the first loss).
  const restarts = input.losses.map((l) => l.restartedAt).sort((a, b) => a - b);
  const eraStart = (t: number) => restarts.filter((r) => r <= t).at(-1) ?? -Infinity;
  // A loss may take an acknowledged entry away, and the chain may then put a newer entry at its
  // offset; it never brings back an older one. An entry acknowledged at an offset where the final
  // log holds a value already seen there before this acknowledgement's era began was replaced by
  // an older history (docs/testing.md bug 2): no later loss excuses that.
  const olderHistory = (t: number, offset: number): string | null => {
    const w = at(offset);
    const s = w === undefined ? undefined : firstSeen.get(w);
    return s && s.offset === offset && s.t < eraStart(t) ? w! : null;
  };

  // Acknowledged appends: in the final log, at their offsets.
  const confirmed = new Set<number>();
  for (const e of input.events) {
    if (e.type !== "ok" || e.f !== "append") continue;
    count("appendsAcked");
    const inv = invokes.get(e.id)!;
    let ok = true;
    for (const [i, v] of (inv.values ?? []).entries()) {
      const offset = e.offsets![i];
      if (at(offset) === v) continue;
      ok = false;
      const older = olderHistory(e.t, offset);
      const lost = older === null ? cuts.find((c) => e.t < c.t && offset >= c.cut) : undefined;
      if (lost && lost.killedAt - e.t <= input.lossWindowMs) {
        count("ackedLostWithinWindow");
        stats.ackedLostAgeMaxMs = Math.max(stats.ackedLostAgeMaxMs ?? 0, Math.round(lost.killedAt - e.t));
        continue;
      }
      const where = seen.has(v) ? `it is at ${seen.get(v)}` : "it is not in the final log";
      const why = lost
        ? ` (acknowledged ${Math.round(lost.killedAt - e.t)} ms before a power loss of every node; the documented window is ${input.lossWindowMs} ms)`
        : older !== null ? `, a value already seen there before the power loss that preceded this acknowledgement: an older history came back` : "";
      fail(lost ? "acked-loss-bound" : "acked-in-final-log", `${JSON.stringify(v)} was acknowledged at offset ${offset}, but ${where}; the final log has ${JSON.stringify(at(offset) ?? null)} there${why}`, [inv, e]);
    }
    if (ok) confirmed.add(e.id);
  }

  // Reads and subscriptions: slices of the final log, below the commit end they report.
  const nextDelivery = new Map<number, number>();
  for (const e of input.events) {
    if (e.type === "invoke" && e.f === "subscribe") nextDelivery.set(e.id, e.from!);
    if (e.type !== "ok" || !e.entries) continue;
    count(e.f === "deliver" ? "entriesDelivered" : "entriesRead", e.entries.length);
    const inv = invokes.get(e.id)!;
    let expect = e.f === "deliver" ? nextDelivery.get(e.id)! : inv.from!;
    for (const [offset, payload] of e.entries) {
      const v = valueOf(payload);
      if (offset !== expect) fail("read-contiguous", `${e.f} expected offset ${expect}, got ${offset}`, [inv, e]);
      expect = offset + 1;
      if (!appendOf.has(v)) fail("no-phantom", `${e.f} returned ${JSON.stringify(v)} at ${offset}, which no client appended`, [inv, e]);
      else if (failedValue(v)) fail("no-failed-visible", `${e.f} returned ${JSON.stringify(v)} at ${offset}, whose append definitely failed`, [inv, e, ...eventsOf(appendOf.get(v))]);
      else if (at(offset) !== v) {
        if (excused(e.t, offset)) count("observationsExcusedByLoss");
        else fail("read-in-final-log", `${e.f} returned ${JSON.stringify(v)} at ${offset}; the final log has ${JSON.stringify(at(offset) ?? null)} there${seen.has(v) ? ` and ${JSON.stringify(v)} at ${seen.get(v)}` : ""}`, [inv, e]);
      }
      if (e.commitEnd !== undefined && offset >= e.commitEnd) fail("read-below-commit", `read returned offset ${offset} with commit end ${e.commitEnd}`, [inv, e]);
    }
    if (e.f === "deliver") nextDelivery.set(e.id, expect);
  }
  for (const e of input.events) {
    if (e.type === "ok" && e.commitEnd !== undefined && e.commitEnd > stats.finalLength && !excused(e.t, stats.finalLength)) {
      fail("read-below-commit", `${e.f} reported commit end ${e.commitEnd}, but the final log ends at ${stats.finalLength}`, [invokes.get(e.id)!, e]);
    }
  }

  checkRealTime(input, invokes, confirmed, fail);
  for (const e of input.events) if (e.type !== "nemesis" && e.type !== "invoke") count(`${e.f}.${e.type}`);
  return { violations, counts, stats };

  function eventsOf(id: number | undefined): HistoryEvent[] {
    if (id === undefined) return [];
    return [invokes.get(id), completion.get(id)].filter((x): x is HistoryEvent => x !== undefined);
  }
}

/**
 * One pass in time order. Appends: acknowledged before another was invoked => a lower offset.
 * Reads and latest: the commit end they report is at least every commit end or acknowledged
 * offset observed before they were invoked (so reads never go back, and see every ack before them).
 */
function checkRealTime(input: CheckInput, invokes: Map<number, HistoryEvent>, confirmed: Set<number>, fail: (p: string, m: string, e: HistoryEvent[]) => void): void {
  const losses = input.losses.map((l) => l.restartedAt).sort((a, b) => a - b);
  let lossIndex = 0;
  let maxAcked = -1;
  let maxAckedBy: HistoryEvent | null = null;
  let maxCommit = 0;
  let maxCommitBy: HistoryEvent | null = null;
  // Each requirement remembers the era it was made in: one made before a power loss of every node
  // does not bind an operation that completed after it (under the weaker sync policies).
  const requiredOffset = new Map<number, { offset: number; by: HistoryEvent | null; era: number }>();
  const requiredCommit = new Map<number, { commit: number; by: HistoryEvent | null; era: number }>();
  for (const e of input.events) {
    while (lossIndex < losses.length && losses[lossIndex] <= e.t) {
      // The log may legitimately be shorter after a power loss of every node (weaker policies).
      lossIndex++;
      maxAcked = -1;
      maxCommit = 0;
    }
    if (e.type === "invoke" && e.f === "append") requiredOffset.set(e.id, { offset: maxAcked, by: maxAckedBy, era: lossIndex });
    if (e.type === "invoke" && (e.f === "read" || e.f === "latest")) requiredCommit.set(e.id, { commit: maxCommit, by: maxCommitBy, era: lossIndex });
    if (e.type !== "ok") continue;
    if (e.f === "append" && confirmed.has(e.id)) {
      const need = requiredOffset.get(e.id)!;
      const first = Math.min(...e.offsets!);
      if (first <= need.offset && need.era === lossIndex) {
        fail("realtime-order", `an append acknowledged at offset ${need.offset} before this one was sent, but this one got offset ${first}`, [need.by!, invokes.get(e.id)!, e]);
      }
      const last = Math.max(...e.offsets!);
      if (last > maxAcked) [maxAcked, maxAckedBy] = [last, e];
      if (last + 1 > maxCommit) [maxCommit, maxCommitBy] = [last + 1, e];
    }
    if (e.f === "deliver" && e.entries!.length > 0) {
      const end = e.entries![e.entries!.length - 1][0] + 1;
      if (end > maxCommit) [maxCommit, maxCommitBy] = [end, e];
    }
    if ((e.f === "read" || e.f === "latest") && e.commitEnd !== undefined) {
      const need = requiredCommit.get(e.id)!;
      if (e.commitEnd < need.commit && need.era === lossIndex) {
        fail(e.f === "latest" ? "latest-linearizable" : "read-linearizable", `${e.f} reported commit end ${e.commitEnd}, but offsets below ${need.commit} were committed before it was sent`, [need.by!, invokes.get(e.id)!, e]);
      }
      if (e.commitEnd > maxCommit) [maxCommit, maxCommitBy] = [e.commitEnd, e];
    }
  }
}
