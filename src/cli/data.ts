// Commands over the client library: append, read, tail, latest.

import { CatenaClient, type Entry } from "../client/client.ts";
import { UsageError, boolFlag, intFlag, type Parsed } from "./args.ts";
import { clientOptions, masterUrl, textDecoder, untilSignal } from "./common.ts";

export function formatEntry(e: Entry, json: boolean): string {
  const payload = textDecoder.decode(e.payload);
  return json ? JSON.stringify({ offset: e.offset, payload }) : `${e.offset}\t${payload}`;
}

const APPEND_INFLIGHT_MAX = 256;

export async function runAppend(p: Parsed): Promise<number> {
  const client = await CatenaClient.connect(clientOptions(p, "append"));
  const json = boolFlag(p, "json");
  const encoder = new TextEncoder();
  const print = (offset: number, payload: string) => process.stdout.write(formatEntry({ offset, payload: encoder.encode(payload) }, json) + "\n");
  try {
    if (p.positionals.length > 0) {
      const offsets = await client.appendMany(p.positionals);
      offsets.forEach((o, i) => print(o, p.positionals[i]));
      return 0;
    }
    // One entry per line of stdin, many in flight, printed in input order as they are acknowledged.
    const inflight: { line: string; done: Promise<number> }[] = [];
    const settle = async () => {
      const first = inflight.shift()!;
      print(await first.done, first.line);
    };
    // Each line is held back by one so that the empty "line" after a final newline is not sent.
    let held: string | null = null;
    for await (const line of console) {
      if (held !== null) {
        if (inflight.length >= APPEND_INFLIGHT_MAX) await settle();
        inflight.push({ line: held, done: client.append(held) });
      }
      held = line;
    }
    if (held) inflight.push({ line: held, done: client.append(held) });
    while (inflight.length > 0) await settle();
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
      process.stdout.write(page.entries.map((e) => formatEntry(e, json)).join("\n") + "\n");
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
  const json = boolFlag(p, "json");
  const from = p.flags.has("from") ? intFlag(p, "from", "tail", 0) : (await client.latest()).commitEnd;
  let failure: Error | null = null;
  const stopped = new Promise<void>((resolve) => {
    client.subscribe(
      from,
      (entries) => process.stdout.write(entries.map((e) => formatEntry(e, json)).join("\n") + "\n"),
      (err) => {
        failure = err;
        resolve();
      },
    );
    void untilSignal().then(() => resolve());
  });
  await stopped;
  const failed = failure;
  client.close();
  if (failed) throw failed;
  return 0;
}

export async function runLatest(p: Parsed): Promise<number> {
  const client = await CatenaClient.connect(clientOptions(p, "latest"));
  try {
    const l = await client.latest();
    if (boolFlag(p, "json")) console.log(JSON.stringify(l));
    else console.log(`start ${l.startOffset}  commit end ${l.commitEnd}  tail log end ${l.logEnd}`);
    return 0;
  } finally {
    client.close();
  }
}
