// A latency histogram with about 1% precision over 1 µs .. ~1 hour (HDR-style: linear
// sub-buckets within power-of-two ranges), so percentiles need no stored samples.

const SUB_BITS = 7; // 128 sub-buckets per power of two: < 1% relative error
const SUB = 1 << SUB_BITS;
const RANGES = 32;

export class Histogram {
  private readonly counts = new Float64Array(SUB + RANGES * (SUB / 2));
  count = 0;
  max = 0;

  /** Records a value in microseconds. */
  record(us: number): void {
    const v = Math.max(0, Math.round(us));
    this.counts[indexOf(v)]++;
    this.count++;
    if (v > this.max) this.max = v;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
  }

  /** The value (µs) at quantile q in [0, 1]. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(valueOf(i), this.max);
    }
    return this.max;
  }
}

// Range 0 holds 0 .. SUB-1 exactly; range k >= 1 holds [SUB * 2^(k-1), SUB * 2^k) in SUB/2
// buckets of width 2^k.
function indexOf(v: number): number {
  if (v < SUB) return v;
  const k = Math.min(RANGES - 1, Math.floor(Math.log2(v)) - SUB_BITS + 1);
  const sub = Math.min(SUB - 1, Math.floor(v / 2 ** k)) - SUB / 2;
  return SUB + (k - 1) * (SUB / 2) + sub;
}

function valueOf(i: number): number {
  if (i < SUB) return i;
  const k = Math.floor((i - SUB) / (SUB / 2)) + 1;
  const sub = ((i - SUB) % (SUB / 2)) + SUB / 2;
  return sub * 2 ** k + 2 ** (k - 1);
}
