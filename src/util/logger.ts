// Log lines: JSON (time, level, component, message, fields) when stderr is not a terminal,
// a short readable line when it is.

export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export const LOG_LEVELS = Object.keys(RANK) as Level[];

let minimum: Level = "info";

export function setLogLevel(level: Level): void {
  minimum = level;
}

export function createLogger(base: Record<string, unknown>, pretty = Boolean(process.stderr.isTTY)): Logger {
  const write = (level: Level, message: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < RANK[minimum]) return;
    const time = new Date().toISOString();
    if (pretty) {
      const extra = { ...base, ...fields };
      const rest = Object.entries(extra).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
      process.stderr.write(`${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${message}${rest ? "  " + rest : ""}\n`);
    } else {
      process.stderr.write(JSON.stringify({ time, level, ...base, message, ...fields }) + "\n");
    }
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }, pretty),
  };
}
