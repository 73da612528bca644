// The load generator behind `catena bench`: C clients, each keeping R appends in flight, for a
// fixed time after a warm-up; latency from send to acknowledgement in an HDR-style histogram.

import { CatenaClient } from "../client/client.ts";
import { Histogram } from "./histogram.ts";

export interface LoadOptions {
  master: string;
  clients: number;
  inflight: number;
  sizeBytes: number;
  durationS: number;
  warmupS: number;
  /** Called about once a second with the running rate. */
  progress?: (elapsedS: number, appendsPerS: number) => void;
}

export interface LoadResult {
  clients: number;
  inflight: number;
  sizeBytes: number;
  durationS: number;
  appends: number;
  appendsPerS: number;
  mbPerS: number;
  errors: number;
  firstError: string | null;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const clients = await Promise.all(Array.from({ length: o.clients }, () => CatenaClient.connect({ master: o.master })));
  const payload = new Uint8Array(o.sizeBytes);
  crypto.getRandomValues(payload.subarray(0, Math.min(payload.length, 65536)));
  const hist = new Histogram();
  let measuring = false;
  let running = true;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  let outstanding = 0;
  let sinceTick = 0;

  const fire = (client: CatenaClient): void => {
    const sent = performance.now();
    outstanding++;
    client.append(payload).then(
      () => {
        outstanding--;
        sinceTick++;
        if (measuring) {
          hist.record((performance.now() - sent) * 1000);
          done++;
        }
        if (running) fire(client);
      },
      (e: Error) => {
        outstanding--;
        errors++;
        firstError ??= e.message;
        if (running) setTimeout(() => fire(client), 10);
      },
    );
  };
  for (const c of clients) for (let i = 0; i < o.inflight; i++) fire(c);

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
  for (const c of clients) c.close();

  const ms = (q: number) => Math.round(hist.quantile(q)) / 1000;
  return {
    clients: o.clients,
    inflight: o.inflight,
    sizeBytes: o.sizeBytes,
    durationS: Math.round(elapsed * 100) / 100,
    appends: done,
    appendsPerS: Math.round(done / elapsed),
    mbPerS: Math.round(((done * o.sizeBytes) / elapsed / 1e6) * 100) / 100,
    errors,
    firstError,
    latencyMs: { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), p999: ms(0.999), max: hist.max / 1000 },
  };
}
