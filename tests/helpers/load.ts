// A bounded append load for fault tests: N clients append unique values with a few in flight each
// and record every outcome (send time, ack time, offset, or the error).

import { CatenaClient } from "../../src/client/client.ts";
import { waitUntil } from "./wait.ts";

export interface AppendRecord {
  value: string;
  sentAt: number;
  ackedAt: number | null;
  offset: number | null;
  error: string | null;
}

export interface Load {
  records: AppendRecord[];
  /** Stops sending and waits (bounded) for the appends in flight to finish. */
  stop(): Promise<void>;
}

export async function startLoad(master: string, clients = 4, inflight = 8, timeLimitMs = 60_000): Promise<Load> {
  const records: AppendRecord[] = [];
  const connected = await Promise.all(Array.from({ length: clients }, () => CatenaClient.connect({ master })));
  let running = true;
  const deadline = performance.now() + timeLimitMs;
  let seq = 0;
  const workers = connected.flatMap((client, c) =>
    Array.from({ length: inflight }, async () => {
      while (running && performance.now() < deadline) {
        const rec: AppendRecord = { value: `c${c}-${seq++}`, sentAt: performance.now(), ackedAt: null, offset: null, error: null };
        records.push(rec);
        try {
          rec.offset = await client.append(rec.value);
          rec.ackedAt = performance.now();
        } catch (e) {
          rec.error = (e as Error).message;
        }
      }
    }),
  );
  return {
    records,
    async stop() {
      running = false;
      await Promise.race([Promise.all(workers), Bun.sleep(40_000)]);
      for (const c of connected) c.close();
    },
  };
}

/** Time from `at` to the first acknowledgement of an append sent after `at`. */
export function unavailabilityMs(records: AppendRecord[], at: number): number | null {
  let first: number | null = null;
  for (const r of records) if (r.sentAt >= at && r.ackedAt !== null && (first === null || r.ackedAt < first)) first = r.ackedAt;
  return first === null ? null : first - at;
}

export const ackedCount = (records: AppendRecord[]) => records.filter((r) => r.offset !== null).length;

/** Waits until `count` more appends than now are acknowledged: the load flows through the chain. */
export async function moreAcked(load: Load, count: number, what: string, timeoutMs = 15_000): Promise<void> {
  const target = ackedCount(load.records) + count;
  await waitUntil(() => ackedCount(load.records) >= target, {
    timeoutMs,
    what,
    lastSeen: () => `${ackedCount(load.records)} of ${target} acknowledged; last error: ${load.records.findLast((r) => r.error)?.error ?? "none"}`,
  });
}
