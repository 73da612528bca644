// `catena append` reading stdin: one entry per line, many in flight, each acknowledgement printed
// (in input order) as soon as it and those of the lines before it have arrived. The first line
// that fails stops the sending; what was written is then reported exactly.

import type { CatenaClient } from "../client/client.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";

/** Lines in flight at most: sent, and their acknowledgement not yet printed. */
const APPEND_INFLIGHT_MAX = 256;
const NEWLINE = 0x0a;

/**
 * Splits bytes into lines on \n only: a \r stays part of its line, and every byte is kept as it is.
 * The bytes after the last \n, if any, are a line too. Yields the lines of each chunk together, so
 * that they can be sent together.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array[]> {
  let partial: Uint8Array[] = [];
  for await (const chunk of chunks) {
    const lines: Uint8Array[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      lines.push(partial.length === 0 ? piece : Buffer.concat([...partial, piece]));
      partial = [];
      start = end + 1;
    }
    if (start < chunk.length) partial.push(chunk.subarray(start));
    if (lines.length > 0) yield lines;
  }
  if (partial.length > 0) yield [Buffer.concat(partial)];
}

export interface LineFailure {
  /** 1-based, as `sed -n Np` counts. */
  lineNumber: number;
  error: Error;
}

export interface AppendReport {
  /** Lines acknowledged before the first failure (all of them when there was none). */
  acknowledged: number;
  failure: LineFailure | null;
  /** Lines sent in all; more than failure.lineNumber when lines after it were in flight. */
  sent: number;
  /** Lines after the failed one acknowledged all the same (they were in flight; printed too). */
  acknowledgedAfter: number;
}

const countLines = (n: number) => `${n} line${n === 1 ? "" : "s"}`;

/** The one line `catena append` prints after a failed line: what was written, what to send again. */
export function describeFailure(report: AppendReport, failure: LineFailure): string {
  const { lineNumber, error } = failure;
  // The head refuses an append too large for its limits before writing any of it.
  const refused = error instanceof CatenaError && error.code === ErrorCode.appendTooLarge;
  const acked = report.acknowledged;
  const before = acked === 0 ? "No line before it was acknowledged" : `The ${countLines(acked)} before it ${acked === 1 ? "was" : "were"} acknowledged (printed above)`;
  const what = `append: line ${lineNumber} ${refused ? "was refused" : "failed"}: ${error.message}. ${before}`;
  const sentAfter = report.sent - lineNumber;
  if (refused && sentAfter === 0) {
    return `${what}; no line after it was sent. Fix line ${lineNumber}, then send the input from that line on again (e.g. tail -n +${lineNumber} FILE | catena append)`;
  }
  const after = sentAfter === 0 ? "" : `; ${countLines(sentAfter)} after it had been sent too, ${report.acknowledgedAfter} of them acknowledged (printed above)`;
  const unknown = refused ? "Lines after it not printed above" : `Line ${lineNumber}, and any line after it not printed above,`;
  return `${what}${after}. ${unknown} may or may not have been written: check with catena read before sending them again`;
}

type Outcome = { offset: number } | { error: Error };

/** Appends the lines of `chunks`; `print` is given each acknowledged line, in input order. */
export async function appendLines(client: CatenaClient, chunks: AsyncIterable<Uint8Array>, print: (offset: number, payload: Uint8Array) => Promise<void>): Promise<AppendReport> {
  const appender = new LineAppender(client, print);
  const input = splitLines(chunks)[Symbol.asyncIterator]();
  reading: for (let lines = await appender.nextLines(input); lines !== null; lines = await appender.nextLines(input)) {
    for (const line of lines) {
      // Waits only when it must: lines sent in one job go to the head packed in one frame.
      if (appender.mustWait(line)) await appender.room(line);
      if (appender.stopped) break reading;
      appender.send(line);
    }
  }
  return appender.finish();
}

class LineAppender {
  /** One promise per line sent and not yet waited for, oldest first: resolves once it is reported. */
  private readonly window: Promise<void>[] = [];
  private lastReport: Promise<void> = Promise.resolve();
  /** The last line sent went alone (see needsProbe): nothing more goes until it is reported. */
  private probing = false;
  private largestAcknowledged = -1;
  private sent = 0;
  private acknowledged = 0;
  private acknowledgedAfter = 0;
  private failure: LineFailure | null = null;
  private outputError: Error | null = null;
  /** Ends the wait for input when the appender stops. */
  private wake: (() => void) | null = null;

  constructor(
    private readonly client: CatenaClient,
    private readonly print: (offset: number, payload: Uint8Array) => Promise<void>,
  ) {}

  get stopped(): boolean {
    return this.failure !== null || this.outputError !== null;
  }

  /**
   * A line longer than every line acknowledged so far may be too large for the head (it refuses an
   * append over limits.append_bytes_max, or a record over record_bytes_max): it goes alone, with
   * nothing in flight before or after it, so that a refusal leaves nothing after it written and the
   * input from that line on can be sent again as it is. A line no longer than one the head took is
   * within its limits.
   */
  private needsProbe(line: Uint8Array): boolean {
    return line.length > this.largestAcknowledged;
  }

  /** The next lines of input; null at its end, or once the appender has stopped (a refused line
   * ends the command at once, not at the next line of a quiet stdin). */
  nextLines(input: AsyncIterator<Uint8Array[]>): Promise<Uint8Array[] | null> {
    if (this.stopped) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.wake = () => resolve(null);
      input.next().then((r) => resolve(r.done ? null : r.value), reject);
    });
  }

  mustWait(line: Uint8Array): boolean {
    return this.window.length >= APPEND_INFLIGHT_MAX || (this.window.length > 0 && (this.probing || this.needsProbe(line)));
  }

  async room(line: Uint8Array): Promise<void> {
    if (this.probing || this.needsProbe(line)) {
      await this.lastReport;
      this.window.length = 0;
      this.probing = false;
    } else await this.window.shift();
  }

  send(line: Uint8Array): void {
    const lineNumber = ++this.sent;
    this.probing = this.needsProbe(line);
    const outcome: Promise<Outcome> = this.client.append(line).then((offset) => ({ offset }), (error: Error) => ({ error }));
    const report = Promise.all([outcome, this.lastReport]).then(([o]) => this.report(lineNumber, line, o));
    this.lastReport = report;
    this.window.push(report);
  }

  /** Called in input order. Never rejects: a failure is recorded and stops the sending. */
  private async report(lineNumber: number, line: Uint8Array, outcome: Outcome): Promise<void> {
    if ("error" in outcome) {
      this.failure ??= { lineNumber, error: outcome.error };
      this.wake?.();
      return;
    }
    if (this.failure) this.acknowledgedAfter++;
    else {
      this.acknowledged++;
      this.largestAcknowledged = Math.max(this.largestAcknowledged, line.length);
    }
    if (this.outputError) return;
    try {
      await this.print(outcome.offset, line);
    } catch (e) {
      this.outputError = e as Error;
      this.wake?.();
    }
  }

  async finish(): Promise<AppendReport> {
    await this.lastReport;
    if (this.outputError) throw this.outputError;
    return { acknowledged: this.acknowledged, failure: this.failure, sent: this.sent, acknowledgedAfter: this.acknowledgedAfter };
  }
}
