// Rates and sparklines from a node's log ends (one per poll of /v1/cluster). Pure: the caller
// passes the time.
//
// A sample holds a running total of growth seen between two consecutive reports, not the log end
// itself: a node that was down and comes back with an older or newer log (it recovered, it was
// truncated) starts counting again from its new log end, instead of drawing the difference as a
// burst of appends.

export interface Sample {
  /** ms since the epoch, when the master's answer arrived */
  t: number;
  /** entries appended up to `t` */
  total: number;
}

export interface Track {
  samples: Sample[];
  /** the log end last reported, null while the node reports none */
  logEnd: number | null;
  total: number;
}

export const emptyTrack: Track = { samples: [], logEnd: null, total: 0 };

/** The track after one more report; a node without a log end adds a flat sample. */
export function advance(track: Track, t: number, logEnd: number | null): Track {
  const grown = logEnd !== null && track.logEnd !== null ? Math.max(0, logEnd - track.logEnd) : 0;
  const total = track.total + grown;
  return { samples: addSample(track.samples, { t, total }), logEnd, total };
}

/** The sparkline spans this much history. */
export const sparkWindowMs = 60_000;
/** Samples kept per node: a minute at 10 polls/s, and a little more. */
export const samplesMax = 640;
/** The append rate shown in the table is measured over this window. */
export const rateWindowMs = 2000;

const BARS = "▁▂▃▄▅▆▇█";

/** `samples` plus `next`, without what has left the sparkline's window. */
export function addSample(samples: readonly Sample[], next: Sample): Sample[] {
  const cutoff = next.t - sparkWindowMs - rateWindowMs;
  let first = 0;
  while (first < samples.length && samples[first].t < cutoff) first++;
  first = Math.max(first, samples.length + 1 - samplesMax);
  const kept = samples.slice(first);
  kept.push(next);
  return kept;
}

/** The last sample taken at or before `t`. */
function sampleAt(samples: readonly Sample[], t: number): Sample | null {
  let found: Sample | null = null;
  for (const s of samples) {
    if (s.t > t) break;
    found = s;
  }
  return found;
}

function rateBetween(from: Sample, to: Sample): number | null {
  if (to.t <= from.t) return null;
  return (to.total - from.total) / ((to.t - from.t) / 1000);
}

/** Entries per second over the last `windowMs` before `now`, or null without two samples. */
export function rateAt(samples: readonly Sample[], now: number, windowMs = rateWindowMs): number | null {
  const last = sampleAt(samples, now);
  if (!last) return null;
  const first = sampleAt(samples, now - windowMs) ?? samples[0];
  return rateBetween(first, last);
}

/**
 * One character per slice of the last minute, the height scaled to the busiest slice: " " where
 * there is no history yet, "▁" for no appends.
 */
export function sparkline(samples: readonly Sample[], now: number, width: number, windowMs = sparkWindowMs): string {
  if (width <= 0) return "";
  const slice = windowMs / width;
  const rates: (number | null)[] = [];
  for (let i = 0; i < width; i++) {
    const start = now - windowMs + i * slice;
    const end = start + slice;
    const from = sampleAt(samples, start) ?? (samples[0] && samples[0].t < end ? samples[0] : null);
    const to = sampleAt(samples, end);
    rates.push(from && to ? (rateBetween(from, to) ?? 0) : null);
  }
  const max = Math.max(0, ...rates.map((r) => r ?? 0));
  return rates
    .map((r) => {
      if (r === null) return " ";
      if (r === 0 || max === 0) return BARS[0];
      return BARS[Math.min(BARS.length - 1, 1 + Math.floor((r / max) * (BARS.length - 1.0001)))];
    })
    .join("");
}
