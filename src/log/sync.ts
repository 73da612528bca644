// Group commit: at most one sync round in flight. Appends that arrive while a round runs are
// covered by the next round, which starts as soon as the current one finishes — one fdatasync per
// batch of appends, not per append. fs.fdatasync with a callback runs off the event loop in Bun.

import fs from "node:fs";

export type FdatasyncFn = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;

/** What one round syncs, and what becomes true once it has. */
export interface SyncRound {
  /** Files whose data must reach the disk. */
  dataFds: number[];
  /** Directories whose entries must reach the disk (a new segment's name). */
  dirFds: number[];
  /** Called once every sync of the round succeeded. */
  done(): void;
}

export class GroupCommit {
  private running = false;
  private again = false;
  private idleWaiters: (() => void)[] = [];

  /**
   * `nextRound` returns null when nothing is left to sync. An fsync error is not retryable — the
   * kernel may already have dropped the dirty pages — so it goes to `onError` and stops the rounds.
   */
  constructor(
    private readonly nextRound: () => SyncRound | null,
    private readonly fdatasync: FdatasyncFn,
    private readonly onError: (err: Error) => void,
  ) {}

  get busy(): boolean {
    return this.running;
  }

  /** Starts a round now, or right after the one in flight. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.start();
  }

  /** Resolves when no round is in flight. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(): void {
    this.again = false;
    const round = this.nextRound();
    if (!round) return this.settle();
    this.running = true;
    this.runRound(round, (err) => {
      this.running = false;
      if (err) {
        this.onError(err);
        return this.settle();
      }
      round.done();
      // done() may have started the next round itself (a durability listener that appended).
      if (this.running) return;
      if (this.again) this.start();
      else this.settle();
    });
  }

  /** Runs every sync of the round in parallel; calls back once with the first error, if any. */
  private runRound(round: SyncRound, callback: (err: Error | null) => void): void {
    let pending = round.dataFds.length + round.dirFds.length;
    let firstError: Error | null = null;
    const finished = (err: Error | null): void => {
      firstError ??= err;
      if (--pending === 0) callback(firstError);
    };
    if (pending === 0) return callback(null);
    for (const fd of round.dataFds) this.fdatasync(fd, finished);
    // Directories take a full fsync: fdatasync's promise covers a file's data, not names.
    for (const fd of round.dirFds) fs.fsync(fd, finished);
  }

  private settle(): void {
    if (this.running) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
