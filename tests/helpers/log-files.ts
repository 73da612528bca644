// Reads a stopped node's log straight from its data directory.

import { join } from "node:path";
import { Log } from "../../src/log/log.ts";
import { iterateRecords } from "../../src/protocol/record.ts";

export interface StoredEntry {
  offset: number;
  clientId: number;
  requestId: number;
  payload: string;
}

export async function readNodeLog(nodeDir: string, chainId = 1): Promise<StoredEntry[]> {
  const log = await Log.open({ dir: join(nodeDir, `chain-${chainId}`), segmentBytes: 64 << 20, indexIntervalBytes: 4096, recordBytesMax: 1048608, sync: "none", syncIntervalMs: 5 });
  const out: StoredEntry[] = [];
  const decoder = new TextDecoder();
  try {
    let from = log.startOffset;
    while (from < log.endOffset) {
      const got = log.read(from, 100_000, 8 << 20);
      for (const r of iterateRecords(got.bytes)) out.push({ offset: r.offset, clientId: r.clientId, requestId: r.requestId, payload: decoder.decode(r.payload) });
      from = got.nextOffset;
    }
  } finally {
    await log.close();
  }
  return out;
}
