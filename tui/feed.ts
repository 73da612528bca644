// The TUI's network reads: the cluster document, a node's status, and the master's event stream.
// Every request is bounded in time; failures become short one-line reasons for the banner.

import { fetchOptions, type HttpCredentials } from "../src/security/http.ts";
import { parseCluster, parseEvent, parseNodeStatus, type ClusterEvent, type ClusterSnapshot, type NodeStatus } from "./cluster.ts";

export const clusterTimeoutMs = 1000;
export const statusTimeoutMs = 800;
/**
 * A master may hold the stream's headers back until its first event, so this is long; a master
 * that is down fails at once, and one that hangs shows in the /v1/cluster polls anyway.
 */
export const streamConnectTimeoutMs = 30_000;
/** An SSE message longer than this ends the stream (the master's events are a few hundred bytes). */
export const streamMessageBytesMax = 64 * 1024;

export class FeedError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A one-line reason a request failed, for a person. */
export function reasonOf(e: unknown, timeoutMs?: number): string {
  if (e instanceof FeedError) return e.message;
  const err = e as { name?: string; code?: string; message?: string } | null;
  if (err?.name === "TimeoutError") return timeoutMs ? `no answer within ${timeoutMs} ms` : "timed out";
  if (err?.code === "ConnectionRefused" || err?.code === "ECONNREFUSED") return "connection refused";
  if (err?.code === "ConnectionReset" || err?.code === "ECONNRESET") return "connection reset";
  const first = String(err?.message ?? e).split("\n")[0];
  return first.length > 80 ? `${first.slice(0, 79)}…` : first;
}

const base = (url: string) => url.replace(/\/+$/, "");

/** The token and CA every request of this process presents (catena tui --token-file/--ca-file). */
let credentials: HttpCredentials | undefined;
export function setFeedCredentials(cred: HttpCredentials | undefined): void {
  credentials = cred;
}

async function getJson(url: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    const timeout = AbortSignal.timeout(timeoutMs);
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, ...fetchOptions(credentials) });
  } catch (e) {
    throw new FeedError(reasonOf(e, timeoutMs));
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FeedError(`HTTP ${res.status}`, res.status);
  }
  try {
    return await res.json();
  } catch (e) {
    throw new FeedError(`not JSON: ${reasonOf(e, timeoutMs)}`);
  }
}

export async function fetchCluster(master: string, signal?: AbortSignal, timeoutMs = clusterTimeoutMs): Promise<ClusterSnapshot> {
  const doc = await getJson(`${base(master)}/v1/cluster`, timeoutMs, signal);
  try {
    return parseCluster(doc);
  } catch (e) {
    throw new FeedError(`unexpected /v1/cluster document: ${(e as Error).message}`);
  }
}

export async function fetchNodeStatus(adminAddr: string, signal?: AbortSignal, timeoutMs = statusTimeoutMs): Promise<NodeStatus> {
  const url = adminAddr.includes("://") ? adminAddr : `${credentials?.ca ? "https" : "http"}://${adminAddr}`;
  const doc = await getJson(`${base(url)}/v1/status`, timeoutMs, signal);
  try {
    return parseNodeStatus(doc);
  } catch (e) {
    throw new FeedError(`unexpected /v1/status document: ${(e as Error).message}`);
  }
}

/**
 * Reads the master's GET /v1/events (server-sent events) until it ends or `signal` aborts.
 * Resolves "unsupported" when the master has no such endpoint (404/405/501), "ended" when the
 * stream closes; rejects with FeedError when the master cannot be reached.
 */
export async function readEventStream(
  master: string,
  onEvent: (event: ClusterEvent) => void,
  signal: AbortSignal,
  onOpen: () => void = () => {},
): Promise<"unsupported" | "ended"> {
  // AbortSignal.timeout would also cut the endless body: the connect timer is cleared once the
  // headers arrive, and from then on only `signal` ends the read.
  const connect = new AbortController();
  const timer = setTimeout(() => connect.abort(new DOMException("connect timeout", "TimeoutError")), streamConnectTimeoutMs);
  let res: Response;
  try {
    res = await fetch(`${base(master)}/v1/events`, { signal: AbortSignal.any([signal, connect.signal]), ...fetchOptions(credentials, { accept: "text/event-stream" }) });
  } catch (e) {
    throw new FeedError(reasonOf(e, streamConnectTimeoutMs));
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 404 || res.status === 405 || res.status === 501) {
    await res.body?.cancel();
    return "unsupported";
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new FeedError(`/v1/events answered HTTP ${res.status}`);
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
    throw new FeedError(reasonOf(e));
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
    if (this.pending.length + this.dataBytes > streamMessageBytesMax) throw new FeedError(`an event stream message exceeds ${streamMessageBytesMax} bytes`);
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
