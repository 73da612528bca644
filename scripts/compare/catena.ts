// catena: `./dist/catena bench --local` (a master and 3 nodes in a temp dir, started and removed by
// the bench itself), with its --json result. Bounded: the bench is stopped, with the processes it
// started, if it has not answered within warm-up + duration + 60 s.

import { join } from "node:path";
import type { LoadShape, Result } from "./load.ts";
import { start, stop, withTimeout } from "./procs.ts";

export const CATENA_BIN = join(import.meta.dir, "../../dist/catena");

export type CatenaSync = "always" | "none";

export async function runCatena(shape: LoadShape, sync: CatenaSync, dir: string, log: (s: string) => void): Promise<Result> {
  const args = [
    CATENA_BIN, "bench", "--local",
    "-c", String(shape.clients), "-r", String(shape.inflight),
    "--size", String(shape.sizeBytes), "--duration", String(shape.durationS), "--warmup", String(shape.warmupS),
    "--sync", sync, "--json",
  ];
  log(`catena: ${args.slice(1).join(" ")}`);
  const bench = start(`catena bench (sync ${sync})`, args, join(dir, `catena-${sync}.log`), {
    cwd: dir,
    tree: true,
    stdout: "pipe",
    // The bench makes its cluster's temp dir under TMPDIR: inside ours, so it goes with ours even
    // when the bench is stopped before it can remove it.
    env: { TMPDIR: dir },
  });
  try {
    const out = await withTimeout(
      (async () => {
        const text = await new Response(bench.proc.stdout as ReadableStream<Uint8Array>).text();
        const code = await bench.proc.exited;
        return { text, code };
      })(),
      (shape.warmupS + shape.durationS + 60) * 1000,
      "catena bench",
    );
    const line = out.text.trim().split("\n").pop() ?? "";
    if (!line.startsWith("{")) throw new Error(`catena bench exited ${out.code} without a JSON result (log: ${join(dir, `catena-${sync}.log`)})`);
    return JSON.parse(line) as Result;
  } finally {
    await stop([bench]);
  }
}
