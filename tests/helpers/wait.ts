// Waiting on a condition instead of sleeping: a test waits until what it needs has happened, for
// at most a deadline, and a wait that runs out fails with what was awaited and what was last seen.

export interface WaitOptions {
  /** The longest wait; generous, since the full test run shares the machine. */
  timeoutMs: number;
  /** What did not happen, for the failure: "the tail did not print an entry". */
  what: string;
  pollMs?: number;
  /** The state last seen, added to the failure. */
  lastSeen?: () => string;
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/** Polls `probe` until it returns a truthy value, and returns that value; throws once the deadline passes. */
export async function waitUntil<T>(probe: () => T | Promise<T>, opts: WaitOptions): Promise<Truthy<T>> {
  const deadline = performance.now() + opts.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (performance.now() > deadline) {
      const seen = opts.lastSeen ? `; last seen: ${opts.lastSeen()}` : "";
      throw new Error(`${opts.what} within ${opts.timeoutMs} ms${seen}`);
    }
    await Bun.sleep(opts.pollMs ?? 20);
  }
}

/** Collects a process's output stream as text, in the background, until it ends. */
export function collectText(stream: ReadableStream<Uint8Array>): { text(): string; ended: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const ended = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, ended };
}
