// The clients under test. Appenders write unique values (some as multi-entry requests, now and
// then one too large to be accepted, which must fail and never appear); readers read slices near
// the commit end and ask for the latest offsets; subscribers follow the log from offset 0. Every
// operation goes into the History. Each loop does one operation at a time, so that an operation's
// completion precedes the next one's invocation in the same loop.

import { CatenaClient } from "../../src/client/client.ts";
import { CatenaError, ErrorCode } from "../../src/protocol/errors.ts";
import type { History } from "./history.ts";
import type { Prng } from "./prng.ts";

export interface WorkloadOptions {
  master: string;
  appenders: number;
  appendersInflight: number;
  readers: number;
  subscribers: number;
  /** An append unanswered this long is recorded as unknown (info). */
  requestTimeoutMs: number;
  /** Each append loop waits up to this long between appends. */
  appendPauseMs: number;
  /** Payloads larger than the nodes' append_bytes_max: refused for sure. */
  oversizedBytes: number;
}

const decoder = new TextDecoder();

/** Errors that prove the request was not written: the node refused it before writing anything. */
function definitelyFailed(e: unknown): boolean {
  return e instanceof CatenaError && (e.code === ErrorCode.appendTooLarge || e.code === ErrorCode.badFrame);
}

function message(e: unknown): string {
  return e instanceof CatenaError ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e);
}

export class Workload {
  private running = true;
  private writing = true;
  private readonly loops: Promise<void>[] = [];
  private readonly appendLoops: Promise<void>[] = [];
  private readonly clients = new Set<CatenaClient>();
  private readonly subs = new Set<{ close(): void }>();
  /** The highest commit end any operation has seen, to aim reads near it. */
  private commitSeen = 0;
  private valueCount = 0;
  /** Per subscriber loop: the next offset it expects. */
  readonly subscriberNext: number[] = [];

  constructor(
    private readonly history: History,
    private readonly opts: WorkloadOptions,
    private readonly rng: Prng,
    private readonly seed: number,
  ) {}

  start(): void {
    for (let c = 0; c < this.opts.appenders; c++) {
      this.appendLoops.push(this.withClient((client) => Promise.all(Array.from({ length: this.opts.appendersInflight }, (_, w) => this.appendLoop(client, `a${c}.${w}`, this.rng.fork(c * 100 + w)))).then(() => {}), () => this.writing));
    }
    for (let r = 0; r < this.opts.readers; r++) this.loops.push(this.withClient((client) => this.readLoop(client, `r${r}`, this.rng.fork(1000 + r))));
    for (let s = 0; s < this.opts.subscribers; s++) this.loops.push(this.withClient((client) => this.subscribeLoop(client, `s${s}`, s)));
  }

  /** Stops invoking appends and waits (bounded) for those in flight. */
  async stopWriting(): Promise<void> {
    this.writing = false;
    await Promise.race([Promise.all(this.appendLoops), Bun.sleep(this.opts.requestTimeoutMs + 5000)]);
  }

  /** Stops invoking, waits (bounded) for operations in flight, then closes every client. */
  async stop(): Promise<void> {
    this.running = false;
    this.writing = false;
    for (const s of this.subs) s.close();
    const all = [...this.loops, ...this.appendLoops];
    await Promise.race([Promise.all(all), Bun.sleep(this.opts.requestTimeoutMs + 5000)]);
    for (const c of this.clients) c.close();
    await Promise.race([Promise.all(all), Bun.sleep(2000)]);
  }

  /** Connects (retrying while the master is unreachable), runs `body`, closes. */
  private async withClient(body: (client: CatenaClient) => Promise<void>, wanted = () => this.running): Promise<void> {
    while (wanted()) {
      let client: CatenaClient;
      try {
        client = await CatenaClient.connect({ master: this.opts.master, requestTimeoutMs: this.opts.requestTimeoutMs });
      } catch {
        await Bun.sleep(200);
        continue;
      }
      this.clients.add(client);
      try {
        await body(client);
      } finally {
        client.close();
        this.clients.delete(client);
      }
      return;
    }
  }

  private nextValue(p: string): string {
    return `${this.seed}.${p}.${this.valueCount++}`;
  }

  private async appendLoop(client: CatenaClient, p: string, rng: Prng): Promise<void> {
    while (this.writing) {
      const oversized = rng.chance(0.002);
      const count = oversized ? 1 : rng.chance(0.1) ? rng.int(2, 4) : 1;
      const values = Array.from({ length: count }, () => this.nextValue(p));
      const payloads = oversized ? [values[0].padEnd(this.opts.oversizedBytes, "x")] : values;
      const id = this.history.newId();
      this.history.add({ type: "invoke", p, id, f: "append", values });
      try {
        const offsets = await client.appendMany(payloads);
        this.history.add({ type: "ok", p, id, f: "append", offsets });
        this.commitSeen = Math.max(this.commitSeen, offsets[offsets.length - 1] + 1);
      } catch (e) {
        this.history.add({ type: definitelyFailed(e) ? "fail" : "info", p, id, f: "append", error: message(e) });
        if (!this.writing) return;
      }
      // A few hundred appends per second in all: enough to keep batches in flight through every
      // fault, few enough that a five-minute history stays small.
      await Bun.sleep(rng.int(0, this.opts.appendPauseMs));
    }
  }

  private async readLoop(client: CatenaClient, p: string, rng: Prng): Promise<void> {
    while (this.running) {
      const id = this.history.newId();
      if (rng.chance(0.3)) {
        this.history.add({ type: "invoke", p, id, f: "latest" });
        try {
          const l = await client.latest();
          this.history.add({ type: "ok", p, id, f: "latest", commitEnd: l.commitEnd, logEnd: l.logEnd });
          this.commitSeen = Math.max(this.commitSeen, l.commitEnd);
        } catch (e) {
          this.history.add({ type: "fail", p, id, f: "latest", error: message(e) });
        }
      } else {
        const from = Math.max(0, this.commitSeen - rng.int(0, 200));
        this.history.add({ type: "invoke", p, id, f: "read", from });
        try {
          const r = await client.read(from, { maxEntries: 50 });
          const entries = r.entries.map((e) => [e.offset, decoder.decode(e.payload)] as [number, string]);
          this.history.add({ type: "ok", p, id, f: "read", from, entries, commitEnd: r.commitEnd });
          this.commitSeen = Math.max(this.commitSeen, r.commitEnd);
        } catch (e) {
          // Reads change nothing: a failed or timed-out read is simply not evidence.
          this.history.add({ type: "fail", p, id, f: "read", error: message(e) });
        }
      }
      await Bun.sleep(rng.int(2, 20));
    }
  }

  /** Follows the log from 0; when a subscription ends with an error, starts a new one after the last entry seen. */
  private async subscribeLoop(client: CatenaClient, p: string, slot: number): Promise<void> {
    this.subscriberNext[slot] = 0;
    while (this.running) {
      const id = this.history.newId();
      this.history.add({ type: "invoke", p, id, f: "subscribe", from: this.subscriberNext[slot] });
      let end!: (why: string) => void;
      const ended = new Promise<string>((resolve) => (end = resolve));
      const sub = client.subscribe(
        this.subscriberNext[slot],
        (entries) => {
          const got = entries.map((e) => [e.offset, decoder.decode(e.payload)] as [number, string]);
          this.history.add({ type: "ok", p, id, f: "deliver", entries: got });
          this.subscriberNext[slot] = got[got.length - 1][0] + 1;
        },
        (err) => end(message(err)),
      );
      this.subs.add(sub);
      const stopCheck = setInterval(() => !this.running && end("stopped"), 100);
      const why = await ended;
      clearInterval(stopCheck);
      sub.close();
      this.subs.delete(sub);
      this.history.add({ type: "info", p, id, f: "subscribe", error: why });
      if (this.running) await Bun.sleep(100);
    }
  }
}
