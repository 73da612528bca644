// Short, fixed-width renderings of numbers for an 80-column table.

/** Offsets and counts: exact up to 7 digits, then 12.3M / 1.2G. */
export function count(n: number | null): string {
  if (n === null) return "-";
  if (n < 10_000_000) return String(Math.round(n));
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e8 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** Rates: 0…9999, then 12.3k. */
export function perSecond(n: number | null): string {
  if (n === null) return "-";
  if (n < 10_000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e5 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

/** Bytes in decimal units: 512B, 4.1kB, 12MB. */
export function bytes(n: number | null): string {
  if (n === null) return "-";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${Math.round(v)}B` : `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`;
}

/** A heartbeat age: 40ms, 1.2s, 42s, 3m, 2h. */
export function age(ms: number | null): string {
  if (ms === null) return "never";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 100_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 6_000_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}

/** Time left: 4s, 2m05s, 1h20m. */
export function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** HH:MM:SS of an ISO time, in local time. */
export function clock(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso).slice(11, 19);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, "0")).join(":");
}

/** `text` cut to `width` columns with an ellipsis, padded on the left or right. */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  const cut = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  return align === "left" ? cut.padEnd(width) : cut.padStart(width);
}
