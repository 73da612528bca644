// Reading the control plane over HTTP: the master's cluster document and event stream, and a
// node's status. Used by the client library, the CLI and the TUI; every request is bounded in time,
// every document checked (src/client/cluster-document.ts), and a failure is an ApiError carrying a
// short reason for a person.

import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { fetchOptions, type HttpCredentials } from "../security/http.ts";
import { parseCluster, parseEvent, parseNodeStatus, type ClusterDocument, type ClusterEvent, type NodeStatus } from "./cluster-document.ts";

export type { ChainInfo, ClusterDocument, ClusterEvent, NodeInfo, NodeStatus } from "./cluster-document.ts";

export const clusterTimeoutMs = 3000;
export const statusTimeoutMs = 800;
/**
 * A master may hold the stream's headers back until its first event, so this is long; a master
 * that is down fails at once, and one that hangs shows in the /v1/cluster polls anyway.
 */
export const streamConnectTimeoutMs = 30_000;
/** An SSE message longer than this ends the stream (the master's events are a few hundred bytes). */
export const streamMessageBytesMax = 64 * 1024;

/** A request to the master or a node's admin API failed: `reason` is one short line. */
export class ApiError extends CatenaError {
  constructor(
    readonly reason: string,
    what: string,
    readonly status?: number,
  ) {
    super(status === 401 || status === 403 ? ErrorCode.unauthorized : ErrorCode.unavailable, `${what}: ${reason}`);
  }
}

/** A one-line reason a request failed, for a person. */
export function reasonOf(e: unknown, timeoutMs?: number): string {
  if (e instanceof ApiError) return e.reason;
  const err = e as { name?: string; code?: string; message?: string } | null;
  if (err?.name === "TimeoutError") return timeoutMs ? `no answer within ${timeoutMs} ms` : "timed out";
  if (err?.code === "ConnectionRefused" || err?.code === "ECONNREFUSED") return "connection refused";
  if (err?.code === "ConnectionReset" || err?.code === "ECONNRESET") return "connection reset";
  const first = String(err?.message ?? e).split("\n")[0];
  return first.length > 80 ? `${first.slice(0, 79)}…` : first;
}

const base = (url: string) => url.replace(/\/+$/, "");

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The token and CA to present (--token-file, --ca-file). */
  credentials?: HttpCredentials;
}

async function getJson(url: string, what: string, o: RequestOptions, timeoutMs: number): Promise<unknown> {
  let res: Response;
  try {
    const timeout = AbortSignal.timeout(timeoutMs);
    res = await fetch(url, { signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout, ...fetchOptions(o.credentials) });
  } catch (e) {
    throw new ApiError(reasonOf(e, timeoutMs), `cannot reach ${what}`);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
    const detail = typeof body?.error === "string" ? `: ${body.error}` : "";
    throw new ApiError(`HTTP ${res.status}${detail}`, `${what} refused the request`, res.status);
  }
  try {
    return await res.json();
  } catch (e) {
    throw new ApiError(`not JSON: ${reasonOf(e, timeoutMs)}`, `${what} answered`);
  }
}

/** The master's GET /v1/cluster, checked. */
export async function fetchCluster(master: string, timeoutMs = clusterTimeoutMs, credentials?: HttpCredentials, signal?: AbortSignal): Promise<ClusterDocument> {
  const what = `the master at ${master}`;
  const doc = await getJson(`${base(master)}/v1/cluster`, what, { credentials, signal }, timeoutMs);
  try {
    return parseCluster(doc);
  } catch (e) {
    throw new ApiError(`unexpected /v1/cluster document: ${(e as Error).message}`, `${what} answered`);
  }
}

/** A node's GET /v1/status on its admin address ("host:port" or a URL), checked. */
export async function fetchNodeStatus(adminAddr: string, o: RequestOptions = {}): Promise<NodeStatus> {
  const url = adminAddr.includes("://") ? adminAddr : `${o.credentials?.ca ? "https" : "http"}://${adminAddr}`;
  const what = `the node at ${adminAddr}`;
  const doc = await getJson(`${base(url)}/v1/status`, what, o, o.timeoutMs ?? statusTimeoutMs);
  try {
    return parseNodeStatus(doc);
  } catch (e) {
    throw new ApiError(`unexpected /v1/status document: ${(e as Error).message}`, `${what} answered`);
  }
}

/**
 * Reads the master's GET /v1/events (server-sent events) until it ends or `signal` aborts.
 * Resolves "unsupported" when the master has no such endpoint (404/405/501), "ended" when the
 * stream closes; rejects with ApiError when the master cannot be reached.
 */
export async function readEventStream(
  master: string,
  onEvent: (event: ClusterEvent) => void,
  signal: AbortSignal,
  onOpen: () => void = () => {},
  credentials?: HttpCredentials,
): Promise<"unsupported" | "ended"> {
  // AbortSignal.timeout would also cut the endless body: the connect timer is cleared once the
  // headers arrive, and from then on only `signal` ends the read.
  const connect = new AbortController();
  const timer = setTimeout(() => connect.abort(new DOMException("connect timeout", "TimeoutError")), streamConnectTimeoutMs);
  let res: Response;
  try {
    res = await fetch(`${base(master)}/v1/events`, { signal: AbortSignal.any([signal, connect.signal]), ...fetchOptions(credentials, { accept: "text/event-stream" }) });
  } catch (e) {
    throw new ApiError(reasonOf(e, streamConnectTimeoutMs), `cannot reach the master at ${master}`);
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 404 || res.status === 405 || res.status === 501) {
    await res.body?.cancel();
    return "unsupported";
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new ApiError(`/v1/events answered HTTP ${res.status}`, `the master at ${master}`, res.status);
  }
  onOpen();
  const parser = new SseParser((name, data) => {
    if (name !== "cluster" && name !== "message") return;
    try {
      const event = parseEvent(JSON.parse(data));
      if (event) onEvent(event);
    } catch {
      // one malformed message is skipped; the stream goes on
    }
  });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return "ended";
      parser.push(decoder.decode(value, { stream: true }));
    }
  } catch (e) {
    if (signal.aborted) return "ended";
    throw new ApiError(reasonOf(e), `the event stream of the master at ${master}`);
  } finally {
    reader.releaseLock();
    await res.body.cancel().catch(() => {});
  }
}

/** Incremental text/event-stream parser: `event:` and `data:` lines, a blank line ends a message. */
export class SseParser {
  private pending = "";
  private eventName = "";
  private data: string[] = [];
  private dataBytes = 0;

  constructor(private readonly onMessage: (event: string, data: string) => void) {}

  push(text: string): void {
    this.pending += text;
    let newline: number;
    while ((newline = this.pending.search(/\r\n|\r|\n/)) >= 0) {
      if (newline === this.pending.length - 1 && this.pending.endsWith("\r")) break; // maybe half of a \r\n
      const line = this.pending.slice(0, newline);
      const width = this.pending.startsWith("\r\n", newline) ? 2 : 1;
      this.pending = this.pending.slice(newline + width);
      this.line(line);
    }
    if (this.pending.length + this.dataBytes > streamMessageBytesMax) throw new ApiError(`an event stream message exceeds ${streamMessageBytesMax} bytes`, "the event stream");
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0) this.onMessage(this.eventName || "message", this.data.join("\n"));
      this.eventName = "";
      this.data = [];
      this.dataBytes = 0;
      return;
    }
    if (line.startsWith(":")) return; // a comment: keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.eventName = value;
    else if (field === "data") {
      this.data.push(value);
      this.dataBytes += value.length;
    }
  }
}
