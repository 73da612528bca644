// Commands over the client library: append, read, tail, latest.

import { CatenaClient, type Subscription } from "../client/client.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { appendLines, describeFailure } from "./append-lines.ts";
import { UsageError, boolFlag, intFlag, type Parsed } from "./args.ts";
import { clientOptions, untilSignal } from "./common.ts";
import { formatEntries } from "./format.ts";
import { stdout } from "./output.ts";

const encoder = new TextEncoder();

export async function runAppend(p: Parsed): Promise<number> {
  const client = await CatenaClient.connect(clientOptions(p, "append"));
  const json = boolFlag(p, "json");
  try {
    if (p.positionals.length > 0) {
      const payloads = p.positionals.map((a) => encoder.encode(a));
      const offsets = await client.appendMany(payloads);
      await stdout.write(formatEntries(offsets.map((offset, i) => ({ offset, payload: payloads[i] })), json));
      return 0;
    }
    const print = (offset: number, payload: Uint8Array) => stdout.write(formatEntries([{ offset, payload }], json));
    const report = await appendLines(client, Bun.stdin.stream(), print);
    if (report.failure) throw new CatenaError(ErrorCode.unavailable, describeFailure(report, report.failure));
    return 0;
  } finally {
    client.close();
  }
}

export async function runRead(p: Parsed): Promise<number> {
  if (!p.flags.has("from")) throw new UsageError("read: --from N is required");
  let from = intFlag(p, "from", "read", 0);
  const limit = intFlag(p, "limit", "read", Number.MAX_SAFE_INTEGER, 1);
  const json = boolFlag(p, "json");
  const client = await CatenaClient.connect(clientOptions(p, "read"));
  try {
    let printed = 0;
    while (printed < limit) {
      const page = await client.read(from, { maxEntries: Math.min(1000, limit - printed) });
      if (page.entries.length === 0) break;
      await stdout.write(formatEntries(page.entries, json));
      printed += page.entries.length;
      from = page.entries[page.entries.length - 1].offset + 1;
    }
    return 0;
  } finally {
    client.close();
  }
}

export async function runTail(p: Parsed): Promise<number> {
  const client = await CatenaClient.connect(clientOptions(p, "tail"));
  try {
    const from = p.flags.has("from") ? intFlag(p, "from", "tail", 0) : (await client.latest()).commitEnd;
    await follow(client, from, boolFlag(p, "json"));
    return 0;
  } finally {
    client.close();
  }
}

/**
 * Prints committed entries from `from` on until SIGINT or SIGTERM. Rejects when the subscription
 * fails, or stdout does (ReaderGone: the reader has gone). While stdout is full the subscription is
 * closed, and opened again after the last entry printed once the reader has caught up: what waits
 * to be printed is never more than one delivery.
 */
function follow(client: CatenaClient, from: number, json: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let ended = false;
    let subscription: Subscription | null = null;
    const end = (err?: Error) => {
      ended = true;
      subscription?.close();
      if (err) reject(err);
      else resolve();
    };
    const open = (at: number) => {
      if (ended) return;
      subscription = client.subscribe(at, (entries) => {
        if (stdout.send(formatEntries(entries, json))) return;
        subscription?.close();
        stdout.drained().then(() => open(entries[entries.length - 1].offset + 1), end);
      }, end);
    };
    open(from);
    void untilSignal().then(() => end());
    void stdout.broken().then(end);
  });
}

export async function runLatest(p: Parsed): Promise<number> {
  const client = await CatenaClient.connect(clientOptions(p, "latest"));
  try {
    const l = await client.latest();
    if (boolFlag(p, "json")) await stdout.line(JSON.stringify(l));
    else await stdout.line(`start ${l.startOffset}  commit end ${l.commitEnd}  tail log end ${l.logEnd}`);
    return 0;
  } finally {
    client.close();
  }
}
