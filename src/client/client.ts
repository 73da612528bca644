// The catena client library: append to a chain, read it, follow it.
//
//   const client = await CatenaClient.connect({ master: "http://127.0.0.1:7100" });
//   const offset = await client.append("hello");          // resolves once committed
//   const { entries } = await client.read(0, { maxEntries: 100 });
//   const sub = client.subscribe(0, (entries) => ...);    // committed entries as they arrive
//
// Appends go to the head; the tail answers them (APPEND_OK) once every node of the chain holds
// them (fdatasynced on every node under sync = "always"). Reads and subscriptions go to the tail.
// Each append carries (clientId, requestId): when the chain changes (a node failed, the master
// installed a new head or tail) the client fetches the new layout and sends every unanswered
// append again with its original ids; the head never writes a request twice, and answers a retry
// with the original offset.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import {
  FrameType, decodeAppendOk, decodeEntries, decodeError, decodeLatestOk, encodeAppend, encodeLatest, encodeRead, encodeSubscribe,
  encodeUnsubscribe, encodeWatchAcks, type LatestOk,
} from "../protocol/messages.ts";
import { RECORD_HEADER_BYTES, iterateRecords } from "../protocol/record.ts";
import { fetchCluster, type ClusterDocument } from "./cluster.ts";
import { NodeConnection, counter } from "./node-connection.ts";
import { RequestTable } from "./request-table.ts";

export { fetchCluster, type ClusterDocument } from "./cluster.ts";

export interface ClientOptions {
  /** The master: a URL ("http://127.0.0.1:7100") or "host:port", as the CLI takes it (then https
   * when `ca` is given, else http). */
  master: string;
  chainId?: number;
  /** Identifies this client's appends for deduplication; random by default. */
  clientId?: number;
  /** How long an append, read or latest may take, failovers included, before it fails. */
  requestTimeoutMs?: number;
  /** An append unanswered for this long is sent again (after checking the layout). */
  resendAfterMs?: number;
  /** The client token (or the admin token), when the cluster requires one (docs/security.md). */
  token?: string;
  /** PEM of the cluster CA, when the cluster uses TLS: the master's and every node's certificate
   * must chain to it, and a node's must name the node id the master lists at its address. */
  ca?: string;
}

export interface Entry {
  offset: number;
  payload: Uint8Array;
}

export interface ReadResult {
  entries: Entry[];
  /** Entries below this offset are committed. */
  commitEnd: number;
  /** The first offset the log still holds. */
  startOffset: number;
}

export interface Subscription {
  close(): void;
}

interface PendingAppend {
  firstRequestId: number;
  payloads: Uint8Array[];
  remaining: number;
  /** Each entry's offset as its acknowledgement arrives (-1 until then). */
  offsets: number[];
  /** Correlation id of the APPEND frame it is waiting on, for routing the head's errors; -1: none. */
  sentId: number;
  sentAt: number;
  /** Sent at least once: from then on it goes alone, never packed with others (see flushOutbox). */
  sentBefore: boolean;
  deadline: number;
  /** Resolves with every entry's offset. */
  resolve(offsets: number[]): void;
  reject(err: Error): void;
}

/** The appends packed into one APPEND frame; `open`: how many of them still wait on it. */
interface SentFrame {
  members: PendingAppend[];
  open: number;
}

/** Appends made in one job are packed into one APPEND frame up to this many payload bytes (with a
 * record header's worth per entry): well under any head's limits.append_bytes_max and
 * batch_bytes_max, which a packed frame must not exceed where each append alone would not. */
const PACKED_BYTES_MAX = 64 * 1024;

function packedBytes(p: PendingAppend): number {
  let bytes = 0;
  for (const payload of p.payloads) bytes += payload.length + RECORD_HEADER_BYTES;
  return bytes;
}

interface Layout {
  epoch: number;
  headId: string;
  headAddr: string;
  tailId: string;
  tailAddr: string;
}

/** A subscription stream that stood this long without an error counts as having been healthy. */
const STREAM_HEALTHY_MS = 2000;
/** How often a client with open subscriptions asks the master whether its tail changed. */
const LAYOUT_CHECK_MS = 1000;

const encoder = new TextEncoder();
/** How often unanswered appends are checked, and a lost head or tail looked for again. */
const RETRY_INTERVAL_MS = 50;

export function toBytes(p: Uint8Array | string): Uint8Array {
  return typeof p === "string" ? encoder.encode(p) : p;
}

export function randomClientId(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0x1f_ffff) * 0x1_0000_0000 + words[1] || 1;
}

/** Errors after which the request is worth sending again once the layout is fresh. */
function retryable(err: unknown): boolean {
  if (!(err instanceof CatenaError)) return true;
  return err.code === ErrorCode.notHead || err.code === ErrorCode.notServing || err.code === ErrorCode.unavailable || err.code === ErrorCode.staleEpoch || err.code === ErrorCode.unknownChain;
}

export class CatenaClient {
  readonly clientId: number;
  readonly chainId: number;
  private readonly timeoutMs: number;
  private readonly resendAfterMs: number;
  private nextRequestId = 1;
  private layout: Layout | null = null;
  private head: NodeConnection | null = null;
  private tail: NodeConnection | null = null;
  /** Every unanswered append, once per request id it covers. */
  private readonly appends = new RequestTable<PendingAppend>();
  /** head correlation id -> the appends packed in that APPEND frame, for errors from the head */
  private readonly sentFrames = new Map<number, SentFrame>();
  /** Appends made in the current job, sent when it ends: see flushOutbox. */
  private outbox: PendingAppend[] = [];
  /** Open subscriptions, and when the layout was last checked for them. */
  private subscriptions = 0;
  private layoutCheckedAt = 0;
  /** One id source for every connection of this client: see NodeConnection. */
  private readonly requestIds = counter();
  private refreshing: Promise<void> | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;

  readonly options: ClientOptions;

  private constructor(options: ClientOptions) {
    this.options = { ...options, master: masterUrlOf(options) };
    this.clientId = options.clientId ?? randomClientId();
    this.chainId = options.chainId ?? 1;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.resendAfterMs = options.resendAfterMs ?? 1000;
    this.timer = setInterval(() => this.checkAppends(), RETRY_INTERVAL_MS);
    this.timer.unref?.();
  }

  static async connect(options: ClientOptions): Promise<CatenaClient> {
    const client = new CatenaClient(options);
    try {
      await client.refresh(true);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** Appends one entry; resolves with its offset once it is committed. */
  append(payload: Uint8Array | string): Promise<number> {
    // Not `async`: one promise per append rather than three (a load generator makes many).
    if (this.closed) return Promise.reject(new CatenaError(ErrorCode.unavailable, "client closed"));
    return new Promise((resolve, reject) => this.enqueue([toBytes(payload)], (offsets) => resolve(offsets[0]), reject));
  }

  /**
   * Appends several entries in one request; resolves with their offsets, in order. They are
   * consecutive, except when a power loss cut the request short before it was acknowledged and
   * the head wrote the rest again on retry: then the rest follows later in the log.
   */
  appendMany(payloads: (Uint8Array | string)[]): Promise<number[]> {
    if (payloads.length === 0) return Promise.resolve([]);
    return this.request(payloads.map(toBytes));
  }

  /** Sends one APPEND; resolves with the offsets of its entries. */
  private request(payloads: Uint8Array[]): Promise<number[]> {
    if (this.closed) return Promise.reject(new CatenaError(ErrorCode.unavailable, "client closed"));
    return new Promise((resolve, reject) => this.enqueue(payloads, resolve, reject));
  }

  private enqueue(payloads: Uint8Array[], resolve: (offsets: number[]) => void, reject: (err: Error) => void): void {
    const now = performance.now();
    const p: PendingAppend = {
      firstRequestId: this.nextRequestId,
      payloads,
      remaining: payloads.length,
      offsets: new Array<number>(payloads.length).fill(-1),
      sentId: -1,
      sentAt: now,
      sentBefore: false,
      deadline: now + this.timeoutMs,
      resolve,
      reject,
    };
    this.nextRequestId += payloads.length;
    for (let i = 0; i < payloads.length; i++) this.appends.set(p.firstRequestId + i, p);
    this.send(p, now);
  }

  /** Committed entries from `from`. An empty result at the commit end; an error past it. */
  read(from: number, limits: { maxEntries?: number; maxBytes?: number } = {}): Promise<ReadResult> {
    const q = { chainId: this.chainId, from, maxEntries: limits.maxEntries ?? 1000, maxBytes: limits.maxBytes ?? 1 << 20 };
    const bad = rangeProblem("read: from", from, 0) ?? rangeProblem("read: maxEntries", q.maxEntries, 1) ?? rangeProblem("read: maxBytes", q.maxBytes, 1);
    if (bad) return Promise.reject(bad);
    return this.atTail(async (tail) => {
      const reply = decodeEntries(await tail.request((id) => encodeRead(id, q)));
      return { entries: toEntries(reply.records), commitEnd: reply.commitEnd, startOffset: reply.startOffset };
    });
  }

  /** The first offset held, the commit end and the tail's log end. */
  latest(): Promise<LatestOk> {
    return this.atTail(async (tail) => decodeLatestOk(await tail.request((id) => encodeLatest(id, this.chainId))));
  }

  /**
   * Calls `onEntries` with committed entries from `from` on, in order, as they commit. Follows the
   * chain through failovers (resuming after the last entry delivered); `onError` hears of errors
   * that end the subscription.
   */
  subscribe(from: number, onEntries: (entries: Entry[]) => void, onError: (err: CatenaError) => void = () => {}): Subscription {
    const bad = rangeProblem("subscribe: from", from, 0);
    if (bad) throw bad;
    let next = from;
    let stopped = false;
    let current: { conn: NodeConnection; id: number } | null = null;
    const deadlineFor = () => performance.now() + this.timeoutMs;
    let deadline = deadlineFor();
    let openedAt = 0;
    // A refresh can fail while the master has not yet replaced a lost tail (the old one is still
    // listed, or none is): keep trying until the deadline, like any other retryable error.
    const retry = (err: unknown): void => {
      if (stopped || this.closed) return;
      const now = performance.now();
      if (!retryable(err) || now > deadline) return finish(err);
      setTimeout(() => void this.refreshSoon().then(start, retry), 50);
    };
    const start = (): void => {
      if (stopped || this.closed) return;
      const tail = this.tail;
      // Through retry: a tail that keeps closing costs a 50 ms pause per attempt, within the deadline.
      if (!tail || !tail.isOpen) return retry(new CatenaError(ErrorCode.unavailable, "no connection to the tail"));
      const id = tail.stream((sid) => encodeSubscribe(sid, { chainId: this.chainId, from: next }), {
        frame: (frame) => {
          deadline = deadlineFor();
          const entries = toEntries(decodeEntries(frame).records);
          if (entries.length === 0) return;
          next = entries[entries.length - 1].offset + 1;
          try {
            onEntries(entries);
          } catch (e) {
            // The caller's error ends this subscription only, not the connection it shares.
            finish(new CatenaError(ErrorCode.internal, `the subscriber's callback threw: ${(e as Error).message}`));
            tail.endStream(id, encodeUnsubscribe(id));
          }
        },
        error: (err) => {
          current = null;
          // The time allowed runs from the start of the trouble, not from the last entry delivered:
          // a stream that stood for a while was healthy (a quiet log delivers nothing for hours).
          if (performance.now() - openedAt > STREAM_HEALTHY_MS) deadline = deadlineFor();
          retry(err);
        },
      });
      current = { conn: tail, id };
      openedAt = performance.now();
    };
    const finish = (err: unknown): void => {
      if (stopped) return;
      stopped = true;
      this.subscriptions--;
      onError(err instanceof CatenaError ? err : new CatenaError(ErrorCode.unavailable, (err as Error).message));
    };
    this.subscriptions++;
    start();
    return {
      close: () => {
        if (!stopped) this.subscriptions--;
        stopped = true;
        if (current) current.conn.endStream(current.id, encodeUnsubscribe(current.id));
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const err = new CatenaError(ErrorCode.unavailable, "client closed");
    for (const p of new Set(this.appends.values())) p.reject(err);
    this.appends.clear();
    this.head?.close();
    if (this.tail !== this.head) this.tail?.close();
  }

  // ---- appends -------------------------------------------------------------------------------

  private send(p: PendingAppend, now = performance.now()): void {
    p.sentAt = now;
    this.release(p);
    if (p.sentBefore) return this.post([p]);
    if (this.outbox.length === 0) queueMicrotask(this.flushOutbox);
    this.outbox.push(p);
  }

  /**
   * Packs the appends made in one job (a loop of append calls, or the promise reactions of one
   * acknowledgement) into as few APPEND frames as their ids allow: one frame of 50 entries costs the
   * head far less than 50 frames of one. Only appends never sent before are packed: the head
   * recognises a retry by its first request id, so a retry must cover exactly one earlier request
   * (or a part of one), never two.
   */
  private readonly flushOutbox = (): void => {
    const box = this.outbox;
    this.outbox = [];
    let i = 0;
    while (i < box.length) {
      let j = i + 1;
      let bytes = packedBytes(box[i]);
      while (j < box.length && box[j].firstRequestId === box[j - 1].firstRequestId + box[j - 1].payloads.length) {
        const more = packedBytes(box[j]);
        if (bytes + more > PACKED_BYTES_MAX) break;
        bytes += more;
        j++;
      }
      this.post(box.slice(i, j));
      i = j;
    }
  };

  /** Sends one APPEND frame carrying every entry of `members` (consecutive request ids). */
  private post(members: PendingAppend[]): void {
    if (this.closed) return;
    const head = this.head;
    if (!head || !head.isOpen) return void this.refreshSoon().catch(() => {});
    const first = members[0];
    const payloads = members.length === 1 ? first.payloads : members.flatMap((m) => m.payloads);
    const id = head.post((cid) => encodeAppend(cid, { chainId: this.chainId, clientId: this.clientId, firstRequestId: first.firstRequestId, payloads }));
    if (id < 0) return void this.refreshSoon().catch(() => {});
    for (const m of members) {
      m.sentId = id;
      m.sentBefore = true;
    }
    this.sentFrames.set(id, { members, open: members.length });
  }

  /** `p` waits no longer on the frame it was sent in (answered, failed, or about to be sent again). */
  private release(p: PendingAppend): void {
    if (p.sentId < 0) return;
    const frame = this.sentFrames.get(p.sentId);
    if (frame && --frame.open === 0) this.sentFrames.delete(p.sentId);
    p.sentId = -1;
  }

  /** APPEND_OK from the tail (or from the head, for a retried request) and errors for appends. */
  private readonly unsolicited = (type: number, id: number, frame: Uint8Array): void => {
    if (type === FrameType.appendOk) {
      for (const run of decodeAppendOk(frame)) this.acknowledged(run.firstRequestId, run.firstOffset, run.count);
      return;
    }
    if (type === FrameType.error) {
      const sent = this.sentFrames.get(id);
      if (!sent) return;
      this.sentFrames.delete(id);
      const err = decodeError(frame);
      for (const p of sent.members) {
        if (p.sentId !== id) continue; // answered already, or sent again since
        p.sentId = -1;
        // Too many appends in flight at the head: the resend loop sends it again after resendAfterMs.
        if (err.code === ErrorCode.overloaded) continue;
        // A packed frame too large for this head's limits: each append goes again on its own.
        const alone = err.code === ErrorCode.appendTooLarge && sent.members.length > 1;
        if (alone || retryable(err)) void this.refreshSoon().then(() => this.appends.has(p.firstRequestId) && p.sentId < 0 && this.send(p), () => {});
        else this.settle(p, err);
      }
    }
  };

  private acknowledged(firstRequestId: number, firstOffset: number, count: number): void {
    for (let i = 0; i < count; i++) {
      const requestId = firstRequestId + i;
      const p = this.appends.get(requestId);
      if (!p) continue;
      this.appends.delete(requestId);
      const index = requestId - p.firstRequestId;
      p.offsets[index] = firstOffset + i;
      if (--p.remaining === 0) {
        this.release(p);
        p.resolve(p.offsets);
      }
    }
  }

  private settle(p: PendingAppend, err: Error): void {
    for (let i = 0; i < p.payloads.length; i++) this.appends.delete(p.firstRequestId + i);
    this.release(p);
    p.reject(err);
  }

  /** Fails appends past their deadline; sends again those unanswered for resendAfterMs. While
   * subscriptions are open, checks the layout every LAYOUT_CHECK_MS: a tail that was removed while
   * cut off (or paused) sends nothing, not even an error, and its subscribers would wait forever. */
  private checkAppends(): void {
    if (this.subscriptions > 0 && performance.now() - this.layoutCheckedAt > LAYOUT_CHECK_MS) {
      this.layoutCheckedAt = performance.now();
      void this.refreshSoon().catch(() => {});
    }
    if (this.appends.size === 0) return;
    const now = performance.now();
    const stale: PendingAppend[] = [];
    for (const p of new Set(this.appends.values())) {
      if (now > p.deadline) this.settle(p, new CatenaError(ErrorCode.unavailable, `append not acknowledged within ${this.timeoutMs} ms`));
      else if (now - p.sentAt > this.resendAfterMs) stale.push(p);
    }
    if (!this.head?.isOpen || !this.tail?.isOpen) {
      // A node went away: poll the master until it installs a new layout (refresh sends again).
      void this.refreshSoon().catch(() => {});
      return;
    }
    if (stale.length === 0) return;
    void this.refreshSoon().then(() => {
      for (const p of stale) if (this.appends.has(p.firstRequestId + p.payloads.length - 1)) this.send(p);
    }, () => {});
  }

  // ---- layout --------------------------------------------------------------------------------

  private async atTail<T>(op: (tail: NodeConnection) => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.timeoutMs;
    for (;;) {
      if (this.closed) throw new CatenaError(ErrorCode.unavailable, "client closed");
      const tail = this.tail;
      try {
        if (!tail || !tail.isOpen) throw new CatenaError(ErrorCode.unavailable, "no connection to the tail");
        return await op(tail);
      } catch (e) {
        if (!retryable(e) || performance.now() > deadline) throw e;
        await Bun.sleep(50);
        await this.refreshSoon().catch(() => {});
      }
    }
  }

  private refreshSoon(): Promise<void> {
    this.refreshing ??= this.refresh(false).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Fetches the layout; reconnects to a new head or tail; sends unanswered appends again. */
  private async refresh(first: boolean): Promise<void> {
    const doc = await fetchCluster(this.options.master, 3000, this.options);
    const next = layoutOf(doc, this.chainId);
    const same = this.layout && next.epoch === this.layout.epoch && next.headAddr === this.layout.headAddr && next.tailAddr === this.layout.tailAddr;
    if (same && this.head?.isOpen && this.tail?.isOpen) return;
    const headChanged = !this.head?.isOpen || next.headAddr !== this.layout?.headAddr;
    const tailChanged = !this.tail?.isOpen || next.tailAddr !== this.layout?.tailAddr;
    const timeout = Math.min(this.timeoutMs, 2000);
    const open = async (addr: string, nodeId: string) => {
      const security = { token: this.options.token ?? "", tls: this.options.ca ? { ca: this.options.ca, serverName: nodeId } : undefined };
      const conn = new NodeConnection(addr, timeout, this.unsolicited, () => this.connectionLost(conn), security, this.requestIds);
      try {
        await conn.open();
      } catch (e) {
        conn.close(); // a connection that failed its HELLO is not left open
        throw e;
      }
      return conn;
    };
    let head = headChanged ? null : this.head;
    let tail = tailChanged ? null : this.tail;
    try {
      if (!tail) tail = next.tailAddr === next.headAddr && head ? head : await open(next.tailAddr, next.tailId);
      if (!head) head = next.headAddr === next.tailAddr ? tail : await open(next.headAddr, next.headId);
      if (tailChanged) await tail.request((id) => encodeWatchAcks(id, { chainId: this.chainId, clientId: this.clientId }));
    } catch (e) {
      if (head && head !== this.head) head.close();
      if (tail && tail !== this.tail && tail !== head) tail.close();
      throw e;
    }
    const old = [this.head, this.tail];
    this.head = head;
    this.tail = tail;
    this.layout = next;
    for (const c of old) if (c && c !== head && c !== tail) c.close();
    // A new head has not seen them; a new tail could not tell this client about entries it
    // committed before the client registered. Either way, send them again: the head writes each
    // request once and answers a retry with the original offset.
    if (!first && (headChanged || tailChanged)) for (const p of new Set(this.appends.values())) this.send(p);
  }

  private connectionLost(conn: NodeConnection): void {
    if (this.closed || (conn !== this.head && conn !== this.tail)) return;
    if (this.appends.size > 0) void this.refreshSoon().catch(() => {});
  }
}

function layoutOf(doc: ClusterDocument, chainId: number): Layout {
  const chain = doc.chains.find((c) => c.chainId === chainId);
  if (!chain || !chain.head || !chain.tail) throw new CatenaError(ErrorCode.unavailable, `chain ${chainId} has no serving members yet; are the nodes running?`);
  const addr = (id: string) => doc.nodes.find((n) => n.id === id)!.clientAddr;
  return { epoch: chain.epoch, headId: chain.head, headAddr: addr(chain.head), tailId: chain.tail, tailAddr: addr(chain.tail) };
}

function toEntries(records: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (const r of iterateRecords(records)) out.push({ offset: r.offset, payload: r.payload });
  return out;
}

/** "host:port" becomes a URL, as the CLI's --master does. */
function masterUrlOf(options: ClientOptions): string {
  if (options.master.includes("://")) return options.master;
  return `${options.ca ? "https" : "http"}://${options.master}`;
}

/** An argument the protocol cannot carry is the caller's mistake: said here, not as a frame error. */
function rangeProblem(what: string, value: number, min: number): RangeError | null {
  return Number.isSafeInteger(value) && value >= min ? null : new RangeError(`${what} must be an integer of at least ${min}, up to 2^53 - 1; got ${value}`);
}
