// The head's memory of recent appends per client, so that a retried request (same clientId and
// requestId) gets its original offset back instead of being written twice. Rebuilt from the log
// whenever a node becomes head (every entry carries its clientId and requestId).
//
// A client's request ids only grow, so each client's window is a ring of runs (first requestId,
// first offset, length) in increasing id order: consecutive ids written at consecutive offsets
// share one run (one request of many entries, or many requests in a row, as a rebuild from the
// log sees them), recording extends or appends at the end, lookup is a binary search, and the
// oldest run falls off the front. (A Map per client cost a quarter of the head's time in profiles.) An id
// recorded out of order (rare: a retry is looked up, not recorded) goes to a small side map.

export const DEDUP_REQUESTS_PER_CLIENT = 8192;
export const DEDUP_CLIENTS_MAX = 100_000;

class ClientWindow {
  /** Runs of consecutive request ids written at consecutive offsets: first id, first offset, length. */
  ids: Float64Array;
  offsets: Float64Array;
  counts: Float64Array;
  start = 0;
  count = 0;
  /** Ids recorded below the ring's newest id: few, kept aside. */
  stray: Map<number, number> | null = null;
  /** Every request id at or below this has been forgotten. */
  forgottenUpTo = 0;

  constructor(private readonly capacity: number) {
    // Grows with use up to the window's size, so many small clients stay small.
    this.ids = new Float64Array(Math.min(capacity, 16));
    this.offsets = new Float64Array(this.ids.length);
    this.counts = new Float64Array(this.ids.length);
  }

  private at(i: number): number {
    return (this.start + i) % this.ids.length;
  }

  /** The highest request id recorded in the ring (-1 when empty). */
  get newest(): number {
    if (this.count === 0) return -1;
    const i = this.at(this.count - 1);
    return this.ids[i] + this.counts[i] - 1;
  }

  find(id: number): number | undefined {
    // An id recorded again (kept aside) wins over the run it belongs to.
    const again = this.stray?.get(id);
    if (again !== undefined) return again;
    // The last run that starts at or below id.
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[this.at(mid)] <= id) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0) {
      const i = this.at(found);
      if (id < this.ids[i] + this.counts[i]) return this.offsets[i] + (id - this.ids[i]);
    }
    return undefined;
  }

  record(id: number, offset: number, count: number): void {
    if (this.count > 0) {
      const last = this.at(this.count - 1);
      const lastEnd = this.ids[last] + this.counts[last];
      if (id === lastEnd && offset === this.offsets[last] + this.counts[last]) {
        this.counts[last] += count;
        return;
      }
      if (id < lastEnd) {
        // Below the newest id (a request written after a later one, say after a refusal and a
        // resend): every id of it is kept aside, not only the first.
        for (let i = 0; i < count; i++) this.recordStray(id + i, offset + i);
        return;
      }
    }
    if (this.count === this.ids.length) {
      if (this.ids.length < this.capacity) this.grow();
      else this.forgetOldest();
    }
    const i = this.at(this.count++);
    this.ids[i] = id;
    this.offsets[i] = offset;
    this.counts[i] = count;
  }

  private recordStray(id: number, offset: number): void {
    if (this.find(id) === offset) return; // already known there
    this.stray ??= new Map();
    this.stray.set(id, offset);
    if (this.stray.size > this.capacity) this.stray.delete(this.stray.keys().next().value as number);
  }

  private forgetOldest(): void {
    const last = this.ids[this.start] + this.counts[this.start] - 1;
    if (last > this.forgottenUpTo) this.forgottenUpTo = last;
    this.start = (this.start + 1) % this.ids.length;
    this.count--;
    if (this.stray) for (const k of this.stray.keys()) if (k <= this.forgottenUpTo) this.stray.delete(k);
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.ids.length * 2);
    const ids = new Float64Array(size);
    const offsets = new Float64Array(size);
    const counts = new Float64Array(size);
    for (let i = 0; i < this.count; i++) {
      ids[i] = this.ids[this.at(i)];
      offsets[i] = this.offsets[this.at(i)];
      counts[i] = this.counts[this.at(i)];
    }
    this.ids = ids;
    this.offsets = offsets;
    this.counts = counts;
    this.start = 0;
  }
}

export type DedupAnswer = { kind: "new" } | { kind: "duplicate"; firstOffset: number } | { kind: "tooOld" };

export class DedupTable {
  private clients = new Map<number, ClientWindow>();

  constructor(private readonly perClient = DEDUP_REQUESTS_PER_CLIENT) {}

  check(clientId: number, firstRequestId: number): DedupAnswer {
    const w = this.clients.get(clientId);
    if (!w) return { kind: "new" };
    const offset = w.find(firstRequestId);
    if (offset !== undefined) return { kind: "duplicate", firstOffset: offset };
    if (firstRequestId <= w.forgottenUpTo) return { kind: "tooOld" };
    return { kind: "new" };
  }

  /** Request ids requestId .. requestId + count − 1 were written at offset .. offset + count − 1. */
  record(clientId: number, requestId: number, offset: number, count = 1): void {
    let w = this.clients.get(clientId);
    if (!w) {
      if (this.clients.size >= DEDUP_CLIENTS_MAX) this.forgetOldestClient();
      w = new ClientWindow(this.perClient);
      this.clients.set(clientId, w);
    }
    w.record(requestId, offset, count);
  }

  private forgetOldestClient(): void {
    const oldest = this.clients.keys().next().value;
    if (oldest !== undefined) this.clients.delete(oldest);
  }
}
