// The same load shape as `catena bench` (src/bench/load.ts), for any system: C clients, each
// keeping R operations in flight; a warm-up that is not measured, then `durationS` seconds whose
// completions are counted and whose latencies (send → acknowledgement) go into the same HDR-style
// histogram. Bounded in time: no new operation starts after the measured window, and whatever is
// still outstanding is abandoned after `drainMs`.

import { Histogram } from "../../src/bench/histogram.ts";

export interface Result {
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

export interface LoadShape {
  clients: number;
  inflight: number;
  sizeBytes: number;
  durationS: number;
  warmupS: number;
}

/** One client: `op` sends one append of `payload` and resolves on its acknowledgement. */
export interface LoadClient {
  op(payload: Uint8Array): Promise<unknown>;
}

export async function runLoad(shape: LoadShape, clients: LoadClient[], drainMs = 5000): Promise<Result> {
  const payload = new Uint8Array(shape.sizeBytes);
  crypto.getRandomValues(payload.subarray(0, Math.min(payload.length, 65536)));
  const hist = new Histogram();
  let measuring = false;
  let running = true;
  let done = 0;
  let errors = 0;
  let firstError: string | null = null;
  let outstanding = 0;

  const fire = (client: LoadClient): void => {
    const sent = performance.now();
    outstanding++;
    let p: Promise<unknown>;
    try {
      p = client.op(payload);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        outstanding--;
        if (measuring) {
          hist.record((performance.now() - sent) * 1000);
          done++;
        }
        if (running) fire(client);
      },
      (e: unknown) => {
        outstanding--;
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
        if (running) setTimeout(() => fire(client), 10);
      },
    );
  };
  for (const c of clients) for (let i = 0; i < shape.inflight; i++) fire(c);

  await Bun.sleep(shape.warmupS * 1000);
  measuring = true;
  const t0 = performance.now();
  await Bun.sleep(shape.durationS * 1000);
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  const drainDeadline = performance.now() + drainMs;
  while (outstanding > 0 && performance.now() < drainDeadline) await Bun.sleep(10);

  const ms = (q: number) => Math.round(hist.quantile(q)) / 1000;
  return {
    clients: shape.clients,
    inflight: shape.inflight,
    sizeBytes: shape.sizeBytes,
    durationS: Math.round(elapsed * 100) / 100,
    appends: done,
    appendsPerS: Math.round(done / elapsed),
    mbPerS: Math.round(((done * shape.sizeBytes) / elapsed / 1e6) * 100) / 100,
    errors,
    firstError,
    latencyMs: { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), p999: ms(0.999), max: hist.max / 1000 },
  };
}
