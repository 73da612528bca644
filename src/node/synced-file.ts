// Test hook (CATENA_TEST_SYNCED_FILE, docs/testing.md): after every sync round, write each
// segment file's fdatasynced length to one JSON file, so that a fault-injection test can cut the
// files back to it after a kill -9 and so simulate a power loss. Written before the node acts on
// the new durable end, so nothing acknowledged lies past what the file says. Replaced by rename:
// the test reads it after kill -9, when the page cache still holds it, so no fsync is needed.

import { renameSync, writeFileSync } from "node:fs";
import type { Log } from "../log/log.ts";

export class SyncedFile {
  private readonly logs = new Set<Log>();

  constructor(private readonly path: string) {}

  /** Records `log`'s synced positions now and after each of its sync rounds. */
  track(log: Log): void {
    this.logs.add(log);
    const inner = log.onDurable;
    log.onDurable = (end) => {
      this.write();
      inner(end);
    };
    this.write();
  }

  private write(): void {
    const segments: Record<string, number> = {};
    for (const log of this.logs) for (const [path, pos] of log.syncedPositions()) segments[path] = pos;
    writeFileSync(`${this.path}.tmp`, JSON.stringify({ segments }));
    renameSync(`${this.path}.tmp`, this.path);
  }
}
