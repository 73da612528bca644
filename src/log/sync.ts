// Group commit: at most one sync round in flight. A round starts once the current job (say, every
// frame of one received chunk) has written what it had, and appends that arrive while a round runs
// are covered by the next round, which starts as soon as the current one finishes — one fdatasync
// per batch of appends, not per append. Each round says how it syncs: on the event loop (the
// callback then comes at once) or in Bun's thread pool (see Log.nextRound).

export type FdatasyncFn = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void;

/** What one round syncs, how, and what becomes true once it has. */
export interface SyncRound {
  /** Files whose data must reach the disk. */
  dataFds: number[];
  /** Directories whose entries must reach the disk (a new segment's name). */
  dirFds: number[];
  /** The calls to sync them with. */
  fdatasync: FdatasyncFn;
  fsyncDir: FdatasyncFn;
  /** Called once every sync of the round succeeded. */
  done(): void;
}

export class GroupCommit {
  private running = false;
  /** A round will start when the current job ends. */
  private scheduled = false;
  private again = false;
  private idleWaiters: (() => void)[] = [];

  /**
   * `nextRound` returns null when nothing is left to sync. An fsync error is not retryable — the
   * kernel may already have dropped the dirty pages — so it goes to `onError` and stops the rounds.
   */
  constructor(
    private readonly nextRound: () => SyncRound | null,
    private readonly onError: (err: Error) => void,
  ) {}

  get busy(): boolean {
    return this.running || this.scheduled;
  }

  /** Starts a round when the current job ends, or right after the one in flight. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.startScheduled);
  }

  /** Resolves when no round is in flight or about to start. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly startScheduled = (): void => {
    this.scheduled = false;
    if (this.running) this.again = true;
    else this.start();
  };

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
      // done() may have asked for the next round itself (a durability listener that appended).
      if (this.busy) return;
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
    for (const fd of round.dataFds) round.fdatasync(fd, finished);
    // Directories take a full fsync: fdatasync's promise covers a file's data, not names.
    for (const fd of round.dirFds) round.fsyncDir(fd, finished);
  }

  private settle(): void {
    if (this.busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
