// A Prometheus histogram with fixed buckets. observe() walks a short array of bounds and adds one:
// nothing is allocated, so it can sit on the data path. Cumulative counts are built at scrape time.

/** Upper bounds, in seconds, for latencies from 50 µs to 10 s (an fdatasync, a commit). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** What the data path needs of a histogram: the log and the replica take this, not the registry. */
export interface Observer {
  observe(value: number): void;
}

export class Histogram implements Observer {
  private readonly bounds: Float64Array;
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot counts those above every bound. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    if (bounds.length === 0) throw new Error("a histogram needs at least one bucket bound");
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
        throw new Error(`histogram bucket bounds must be finite and strictly increasing, got [${bounds.join(", ")}]`);
      }
    }
    this.bounds = Float64Array.from(bounds);
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** Each bound with the number of observations at or below it (Prometheus' `le`), in order. */
  cumulative(): { le: number; count: number }[] {
    let running = 0;
    return Array.from(this.bounds, (le, i) => ({ le, count: (running += this.counts[i]) }));
  }
}
