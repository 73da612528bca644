// The load generator behind `catena bench`: C clients, each keeping R operations in flight, for a
// fixed time after a warm-up; latency from send to answer in HDR-style histograms.
//   append     every operation is an append (acknowledged once committed)
//   read       every operation reads one committed entry at a random offset (from the tail)
//   mixed      each client's slots alternate: half append, half read
//   subscribe  every client subscribes from the commit end; one more client appends with R in
//              flight; the latency is from sending an append to its delivery to a subscriber

import { CatenaClient, type Subscription } from "../client/client.ts";
import { Histogram } from "./histogram.ts";

export type LoadMode = "append" | "read" | "mixed" | "subscribe";

export interface LoadOptions {
  master: string;
  /** Client token and cluster CA, for a secured cluster. */
  token?: string;
  ca?: string;
  mode?: LoadMode;
  clients: number;
  inflight: number;
  sizeBytes: number;
  durationS: number;
  warmupS: number;
  /** Called about once a second with the running rate. */
  progress?: (elapsedS: number, opsPerS: number) => void;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadResult {
  mode: LoadMode;
  clients: number;
  inflight: number;
  sizeBytes: number;
  durationS: number;
  appends: number;
  appendsPerS: number;
  mbPerS: number;
  reads: number;
  readsPerS: number;
  delivered: number;
  deliveredPerS: number;
  errors: number;
  firstError: string | null;
  /** append latency (append and mixed), read latency (read), delivery latency (subscribe) */
  latencyMs: Percentiles;
  readLatencyMs: Percentiles | null;
}

/** Entries written first when a read benchmark finds a short log. */
const READ_PREFILL = 10_000;

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const mode = o.mode ?? "append";
  const clients = await Promise.all(Array.from({ length: o.clients }, () => CatenaClient.connect({ master: o.master, token: o.token, ca: o.ca })));
  const payload = new Uint8Array(Math.max(o.sizeBytes, mode === "subscribe" ? 8 : 0));
  crypto.getRandomValues(payload.subarray(0, Math.min(payload.length, 65536)));
  const appendHist = new Histogram();
  const readHist = new Histogram();
  let measuring = false;
  let running = true;
  const count = { appends: 0, reads: 0, delivered: 0, errors: 0 };
  let firstError: string | null = null;
  let outstanding = 0;
  let sinceTick = 0;
  let readable = 0;

  if (mode === "read" || mode === "mixed") readable = await prefill(clients[0], payload);

  /** An operation answered: its latency is recorded in the measured window. */
  const answered = (hist: Histogram | null, sent: number): void => {
    outstanding--;
    sinceTick++;
    if (measuring && hist) hist.record((performance.now() - sent) * 1000);
  };
  const failed = (e: Error, again: () => void): void => {
    outstanding--;
    count.errors++;
    firstError ??= e.message;
    if (running) setTimeout(again, 10);
  };
  // Under subscribe the latency is the delivery's (recorded by the subscribers), not the append's.
  const appendLatency = mode === "subscribe" ? null : appendHist;
  /** One client's append loop: each acknowledgement sends the next append. One closure per append
   * (the one that knows when it was sent): this loop runs hundreds of thousands of times a second. */
  const appendLoop = (client: CatenaClient): (() => void) => {
    const fire = (): void => {
      const sent = performance.now();
      outstanding++;
      if (mode === "subscribe") new DataView(payload.buffer).setFloat64(0, sent, true);
      client.append(payload).then(() => {
        answered(appendLatency, sent);
        if (measuring) count.appends++;
        if (running) fire();
      }, onError);
    };
    const onError = (e: Error): void => failed(e, fire);
    return fire;
  };
  const readLoop = (client: CatenaClient): (() => void) => {
    const fire = (): void => {
      const sent = performance.now();
      outstanding++;
      const at = Math.floor(Math.random() * readable);
      client.read(at, { maxEntries: 1 }).then(() => {
        answered(readHist, sent);
        if (measuring) count.reads++;
        if (running) fire();
      }, onError);
    };
    const onError = (e: Error): void => failed(e, fire);
    return fire;
  };

  const subscriptions: Subscription[] = [];
  let appender: CatenaClient | null = null;
  if (mode === "subscribe") {
    const from = (await clients[0].latest()).commitEnd;
    for (const c of clients) {
      subscriptions.push(
        c.subscribe(from, (entries) => {
          const now = performance.now();
          sinceTick += entries.length;
          if (!measuring) return;
          count.delivered += entries.length;
          for (const e of entries) appendHist.record((now - new DataView(e.payload.buffer, e.payload.byteOffset, 8).getFloat64(0, true)) * 1000);
        }, (e) => {
          count.errors++;
          firstError ??= e.message;
        }),
      );
    }
    appender = await CatenaClient.connect({ master: o.master, token: o.token, ca: o.ca });
    const fire = appendLoop(appender);
    for (let i = 0; i < o.inflight; i++) fire();
  } else {
    for (const c of clients) {
      const fireAppend = appendLoop(c);
      const fireRead = readLoop(c);
      for (let i = 0; i < o.inflight; i++) {
        if (mode === "append" || (mode === "mixed" && i % 2 === 0)) fireAppend();
        else fireRead();
      }
    }
  }

  const started = performance.now();
  const ticker = setInterval(() => {
    o.progress?.((performance.now() - started) / 1000, sinceTick);
    sinceTick = 0;
  }, 1000);
  await Bun.sleep(o.warmupS * 1000);
  measuring = true;
  const t0 = performance.now();
  await Bun.sleep(o.durationS * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  clearInterval(ticker);
  const drainDeadline = performance.now() + 5000;
  while (outstanding > 0 && performance.now() < drainDeadline) await Bun.sleep(10);
  for (const s of subscriptions) s.close();
  appender?.close();
  for (const c of clients) c.close();

  const rate = (n: number) => Math.round(n / elapsed);
  return {
    mode,
    clients: o.clients,
    inflight: o.inflight,
    sizeBytes: payload.length,
    durationS: Math.round(elapsed * 100) / 100,
    appends: count.appends,
    appendsPerS: rate(count.appends),
    mbPerS: Math.round(((count.appends * payload.length) / elapsed / 1e6) * 100) / 100,
    reads: count.reads,
    readsPerS: rate(count.reads),
    delivered: count.delivered,
    deliveredPerS: rate(count.delivered),
    errors: count.errors,
    firstError,
    latencyMs: percentiles(mode === "read" ? readHist : appendHist),
    readLatencyMs: mode === "mixed" ? percentiles(readHist) : null,
  };
}

function percentiles(h: Histogram): Percentiles {
  const ms = (q: number) => Math.round(h.quantile(q)) / 1000;
  return { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), p999: ms(0.999), max: h.max / 1000 };
}

/** Makes sure there is something to read; returns how many entries are committed. */
async function prefill(client: CatenaClient, payload: Uint8Array): Promise<number> {
  let { commitEnd } = await client.latest();
  while (commitEnd < READ_PREFILL) {
    const batch = Array.from({ length: 500 }, () => payload);
    const offsets = await client.appendMany(batch);
    commitEnd = offsets[offsets.length - 1] + 1;
  }
  return commitEnd;
}
