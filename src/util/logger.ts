// Log lines: one JSON object per line when stderr is not a terminal — time, level, then the
// logger's own fields (role or node, chain, epoch), message, then the call's fields — and a short
// readable line when it is.

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A field given as a function is called for every line: for a value that changes, like an epoch. */
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  /** Readable lines instead of JSON; by default when stderr is a terminal. */
  pretty?: boolean;
  /** Where each finished line goes; stderr by default. */
  write?: (line: string) => void;
}

export const LOG_LEVELS = Object.keys(RANK) as Level[];

let minimum: Level = "info";

export function getLogLevel(): Level {
  return minimum;
}

export function setLogLevel(level: Level): void {
  minimum = level;
}

export function createLogger(base: Fields, options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const out = options.write ?? ((line: string) => void process.stderr.write(line));
  const line = (level: Level, message: string, fields?: Fields): void => {
    if (RANK[level] < RANK[minimum]) return;
    const time = new Date().toISOString();
    const own: Fields = {};
    for (const [k, v] of Object.entries(base)) own[k] = typeof v === "function" ? v() : v;
    if (pretty) {
      const rest = Object.entries({ ...own, ...fields })
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      out(`${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${message}${rest ? "  " + rest : ""}\n`);
    } else {
      out(JSON.stringify({ time, level, ...own, message, ...fields }) + "\n");
    }
  };
  return {
    debug: (m, f) => line("debug", m, f),
    info: (m, f) => line("info", m, f),
    warn: (m, f) => line("warn", m, f),
    error: (m, f) => line("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }, { pretty, write: out }),
  };
}
