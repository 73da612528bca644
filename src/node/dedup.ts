// The head's memory of recent appends per client, so that a retried request (same clientId and
// requestId) gets its original offset back instead of being written twice. Rebuilt from the log
// whenever a node becomes head (every entry carries its clientId and requestId).

export const DEDUP_REQUESTS_PER_CLIENT = 8192;
export const DEDUP_CLIENTS_MAX = 100_000;

interface ClientWindow {
  /** requestId -> offset of that request's first entry */
  offsets: Map<number, number>;
  /** The remembered request ids in the order they were recorded: a ring of the window's size.
   * (Finding the oldest key of a Map after many deletions is slow; a ring is not.) */
  order: number[];
  next: number;
  /** Every request id at or below this has been forgotten. */
  forgottenUpTo: number;
}

export type DedupAnswer = { kind: "new" } | { kind: "duplicate"; firstOffset: number } | { kind: "tooOld" };

export class DedupTable {
  private clients = new Map<number, ClientWindow>();

  constructor(private readonly perClient = DEDUP_REQUESTS_PER_CLIENT) {}

  check(clientId: number, firstRequestId: number): DedupAnswer {
    const w = this.clients.get(clientId);
    if (!w) return { kind: "new" };
    const offset = w.offsets.get(firstRequestId);
    if (offset !== undefined) return { kind: "duplicate", firstOffset: offset };
    if (firstRequestId <= w.forgottenUpTo) return { kind: "tooOld" };
    return { kind: "new" };
  }

  record(clientId: number, requestId: number, offset: number): void {
    let w = this.clients.get(clientId);
    if (!w) {
      if (this.clients.size >= DEDUP_CLIENTS_MAX) this.forgetOldestClient();
      w = { offsets: new Map(), order: [], next: 0, forgottenUpTo: 0 };
      this.clients.set(clientId, w);
    }
    if (w.offsets.has(requestId)) {
      w.offsets.set(requestId, offset);
      return;
    }
    if (w.order.length < this.perClient) {
      w.order.push(requestId); // the ring grows with use, up to the window's size
    } else {
      const evicted = w.order[w.next];
      w.offsets.delete(evicted);
      if (evicted > w.forgottenUpTo) w.forgottenUpTo = evicted;
      w.order[w.next] = requestId;
      w.next = (w.next + 1) % this.perClient;
    }
    w.offsets.set(requestId, offset);
  }

  private forgetOldestClient(): void {
    const oldest = this.clients.keys().next().value;
    if (oldest !== undefined) this.clients.delete(oldest);
  }
}
