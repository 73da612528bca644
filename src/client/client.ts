// The catena client library: append to a chain, read it, follow it.
//
//   const client = await CatenaClient.connect({ master: "http://127.0.0.1:7100" });
//   const offset = await client.append("hello");          // resolves once committed
//   const { entries } = await client.read(0, { maxEntries: 100 });
//   const sub = client.subscribe(0, (entries) => ...);    // committed entries as they arrive
//
// An append resolves only when every node of the chain holds the entry (fdatasynced on every node
// under sync = "always"). Each append carries (clientId, requestId), so the head never writes a
// retried request twice.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import {
  decodeAppendOk, decodeEntries, decodeLatestOk, encodeAppend, encodeLatest, encodeRead, encodeSubscribe, encodeUnsubscribe, type LatestOk,
} from "../protocol/messages.ts";
import { iterateRecords } from "../protocol/record.ts";
import { NodeConnection } from "./node-connection.ts";

export interface ClientOptions {
  /** The master's URL, e.g. "http://127.0.0.1:7100". */
  master: string;
  chainId?: number;
  /** Identifies this client's appends for deduplication; random by default. */
  clientId?: number;
  requestTimeoutMs?: number;
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

export interface ClusterDocument {
  chains: { chainId: number; epoch: number; members: string[]; head: string | null; tail: string | null }[];
  nodes: { id: string; clientAddr: string; replicationAddr: string; adminAddr: string; role: string; state: string; logEnd: number | null; commitEnd: number | null; heartbeatAgeMs: number | null; lastHeartbeat: string | null }[];
  [key: string]: unknown;
}

const encoder = new TextEncoder();

export function toBytes(p: Uint8Array | string): Uint8Array {
  return typeof p === "string" ? encoder.encode(p) : p;
}

export function randomClientId(): number {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (words[0] & 0x1f_ffff) * 0x1_0000_0000 + words[1] || 1;
}

export async function fetchCluster(master: string, timeoutMs = 3000): Promise<ClusterDocument> {
  let res: Response;
  try {
    res = await fetch(`${master.replace(/\/$/, "")}/v1/cluster`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new CatenaError(ErrorCode.unavailable, `cannot reach the master at ${master}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new CatenaError(ErrorCode.unavailable, `the master at ${master} answered HTTP ${res.status}`);
  return (await res.json()) as ClusterDocument;
}

export class CatenaClient {
  readonly clientId: number;
  private nextRequestId = 1;

  private constructor(
    readonly options: ClientOptions,
    readonly chainId: number,
    private readonly head: NodeConnection,
    private readonly tail: NodeConnection,
  ) {
    this.clientId = options.clientId ?? randomClientId();
  }

  static async connect(options: ClientOptions): Promise<CatenaClient> {
    const chainId = options.chainId ?? 1;
    const doc = await fetchCluster(options.master);
    const chain = doc.chains.find((c) => c.chainId === chainId);
    if (!chain || !chain.head || !chain.tail) throw new CatenaError(ErrorCode.unavailable, `chain ${chainId} has no members yet; are the nodes running?`);
    const addr = (id: string) => doc.nodes.find((n) => n.id === id)!.clientAddr;
    const timeout = options.requestTimeoutMs ?? 10_000;
    const head = new NodeConnection(addr(chain.head), timeout);
    await head.open();
    let tail = head;
    if (chain.tail !== chain.head) {
      tail = new NodeConnection(addr(chain.tail), timeout);
      await tail.open();
    }
    return new CatenaClient(options, chainId, head, tail);
  }

  /** Appends one entry; resolves with its offset once it is committed. */
  async append(payload: Uint8Array | string): Promise<number> {
    return (await this.appendMany([payload]))[0];
  }

  /** Appends several entries in one request; they get consecutive offsets. */
  async appendMany(payloads: (Uint8Array | string)[]): Promise<number[]> {
    if (payloads.length === 0) return [];
    const bytes = payloads.map(toBytes);
    const firstRequestId = this.nextRequestId;
    this.nextRequestId += bytes.length;
    const reply = decodeAppendOk(
      await this.head.request((id) => encodeAppend(id, { chainId: this.chainId, clientId: this.clientId, firstRequestId, payloads: bytes })),
    );
    return Array.from({ length: reply.count }, (_, i) => reply.firstOffset + i);
  }

  /** Committed entries from `from`. An empty result at the commit end; an error past it. */
  async read(from: number, limits: { maxEntries?: number; maxBytes?: number } = {}): Promise<ReadResult> {
    const frame = await this.tail.request((id) =>
      encodeRead(id, { chainId: this.chainId, from, maxEntries: limits.maxEntries ?? 1000, maxBytes: limits.maxBytes ?? 1 << 20 }),
    );
    const reply = decodeEntries(frame);
    return { entries: toEntries(reply.records), commitEnd: reply.commitEnd, startOffset: reply.startOffset };
  }

  /** The first offset held, the commit end and the tail's log end. */
  async latest(): Promise<LatestOk> {
    return decodeLatestOk(await this.tail.request((id) => encodeLatest(id, this.chainId)));
  }

  /** Calls `onEntries` with committed entries from `from` on, in order, as they commit. */
  subscribe(from: number, onEntries: (entries: Entry[]) => void, onError: (err: CatenaError) => void = () => {}): Subscription {
    const id = this.tail.stream((sid) => encodeSubscribe(sid, { chainId: this.chainId, from }), {
      frame: (frame) => onEntries(toEntries(decodeEntries(frame).records)),
      error: onError,
    });
    return { close: () => this.tail.endStream(id, encodeUnsubscribe(id)) };
  }

  close(): void {
    this.head.close();
    if (this.tail !== this.head) this.tail.close();
  }
}

function toEntries(records: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (const r of iterateRecords(records)) out.push({ offset: r.offset, payload: r.payload });
  return out;
}
