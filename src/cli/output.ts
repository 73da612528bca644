// Everything a CLI command prints goes through here, so that all of it reaches whoever reads it,
// however slowly they read, and a reader that goes away ends the command quietly.
//
// Bun's process.stdout into a pipe: write() returns false once the pipe is full and keeps the rest
// in memory, then emits "drain" when it has all gone out. process.exit() drops whatever is still
// held, so main.ts waits for drained() before exiting. A reader that closed its end makes the next
// write fail with EPIPE, reported as an "error" event (without a listener: a stack trace on stderr).

/** Whoever read stdout has gone (EPIPE): the command stops and exits quietly. */
export class ReaderGone extends Error {
  constructor() {
    super("the reader of stdout has gone");
  }
}

/** The parts of a Writable that Output uses. */
export interface WritableLike {
  write(data: string | Uint8Array): boolean;
  on(event: "drain", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
}

export class Output {
  private failure: Error | null = null;
  /** Set while the stream holds more than it has written out. */
  private full: PromiseWithResolvers<void> | null = null;
  private readonly brokenSignal = Promise.withResolvers<Error>();

  constructor(private readonly stream: WritableLike) {
    stream.on("drain", () => this.settle(null));
    stream.on("error", (err) => this.settle((err as { code?: string }).code === "EPIPE" ? new ReaderGone() : new Error(`cannot write to stdout: ${err.message}`)));
  }

  /** Hands `data` to the stream; false when the caller should wait for drained() before more. */
  send(data: string | Uint8Array): boolean {
    if (this.failure) return false;
    if (this.stream.write(data)) return true;
    if (!this.full) {
      this.full = Promise.withResolvers<void>();
      this.full.promise.catch(() => {}); // whoever waits hears of the failure; nobody has to wait
    }
    return false;
  }

  /** Writes `data`, waiting while the stream is full. Throws ReaderGone once the reader has gone. */
  async write(data: string | Uint8Array): Promise<void> {
    if (!this.send(data)) await this.drained();
  }

  line(text: string): Promise<void> {
    return this.write(text + "\n");
  }

  /** Resolves once everything sent has gone out; rejects if the stream failed. */
  drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return this.full?.promise ?? Promise.resolve();
  }

  /** Resolves with the error once the stream fails: for commands that may write nothing for a while. */
  broken(): Promise<Error> {
    return this.brokenSignal.promise;
  }

  private settle(failure: Error | null): void {
    if (this.failure) return;
    const full = this.full;
    this.full = null;
    if (failure) {
      this.failure = failure;
      this.brokenSignal.resolve(failure);
      full?.reject(failure);
    } else full?.resolve();
  }
}

export const stdout = new Output(process.stdout);
