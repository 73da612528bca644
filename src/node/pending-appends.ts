// The head's count of appends each client connection has in flight (received, not yet
// committed), so that one connection cannot pile up unbounded work: past limits.pending_appends_max
// its appends are refused with `overloaded` until commits bring it back under.

import type { Connection } from "../transport/connection.ts";

interface Written {
  conn: Connection;
  count: number;
  /** Committed once the chain's commit end reaches this. */
  end: number;
}

export class PendingAppends {
  private readonly counts = new Map<Connection, number>();
  /** Written appends in offset order, waiting for their commit. */
  private written: Written[] = [];
  private head = 0;

  constructor(private readonly max: number) {}

  /** Counts `count` more for `conn`, or returns false if that would pass the limit. */
  admit(conn: Connection, count: number): boolean {
    const now = this.counts.get(conn) ?? 0;
    if (now + count > this.max) return false;
    this.counts.set(conn, now + count);
    return true;
  }

  /** Admitted appends that were answered without being written (refused, failed, duplicates). */
  release(conn: Connection, count: number): void {
    const now = this.counts.get(conn);
    if (now === undefined) return;
    if (now <= count) this.counts.delete(conn);
    else this.counts.set(conn, now - count);
  }

  /** Admitted appends now in the log, ending at `end`: released when the commit passes it. */
  wrote(conn: Connection, count: number, end: number): void {
    this.written.push({ conn, count, end });
  }

  committed(end: number): void {
    while (this.head < this.written.length && this.written[this.head].end <= end) {
      const w = this.written[this.head++];
      this.release(w.conn, w.count);
    }
    if (this.head > 1024 && this.head * 2 > this.written.length) {
      this.written = this.written.slice(this.head);
      this.head = 0;
    }
  }

  /** The log was cut back, or this node stopped being the head: nothing written waits any more. */
  clear(): void {
    this.counts.clear();
    this.written = [];
    this.head = 0;
  }

  has(conn: Connection): boolean {
    return this.counts.has(conn);
  }

  forget(conn: Connection): void {
    this.counts.delete(conn);
  }
}
