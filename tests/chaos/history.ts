// The history of a run: every client operation (invoke, then ok / fail / info) and every nemesis
// action, with performance.now() timestamps from this one process, kept in memory for the checker
// and streamed to history.jsonl so that a failed run can be examined (and checked again) later.
//
// Outcomes, as in Jepsen: "ok" — it happened, with its offsets; "fail" — it definitely did not
// happen (the node refused it before writing anything); "info" — unknown (a timeout, a closed
// client): it may or may not have happened.

import { appendFileSync, writeFileSync } from "node:fs";

export type OpKind = "append" | "read" | "latest" | "subscribe" | "deliver";

export interface HistoryEvent {
  /** performance.now() when the event was recorded */
  t: number;
  type: "invoke" | "ok" | "fail" | "info" | "nemesis";
  /** Which client loop (or "nemesis") recorded it. */
  p: string;
  /** Pairs an invoke with its completion; a subscription's deliveries carry its invoke's id. */
  id: number;
  f: OpKind | string;
  /** append: the unique values written, in order */
  values?: string[];
  /** append ok: the offset of each value */
  offsets?: number[];
  /** read, subscribe: the first offset asked for; deliver: the offset of values[0] */
  from?: number;
  /** read ok, deliver: the entries, as [offset, value] */
  entries?: [number, string][];
  /** read ok, latest ok: the commit end the node reported */
  commitEnd?: number;
  logEnd?: number;
  error?: string;
  /** nemesis: what it did, and when by the wall clock */
  detail?: unknown;
  wall?: string;
}

const FLUSH_EVENTS = 2000;

export class History {
  readonly events: HistoryEvent[] = [];
  private nextId = 1;
  private unflushed: string[] = [];

  constructor(readonly file: string) {
    writeFileSync(file, "");
  }

  newId(): number {
    return this.nextId++;
  }

  add(e: Omit<HistoryEvent, "t">): HistoryEvent {
    const event = { t: performance.now(), ...e };
    this.events.push(event);
    this.unflushed.push(JSON.stringify(event));
    if (this.unflushed.length >= FLUSH_EVENTS) this.flush();
    return event;
  }

  /** Nemesis events also carry the wall-clock time, to line them up with the processes' logs. */
  nemesis(f: string, detail: unknown): void {
    this.add({ type: "nemesis", p: "nemesis", id: 0, f, detail, wall: new Date().toISOString() });
  }

  flush(): void {
    if (this.unflushed.length === 0) return;
    appendFileSync(this.file, this.unflushed.join("\n") + "\n");
    this.unflushed = [];
  }
}
