// PUT /v1/log-level {"level": "debug"}: changes this process's log level without a restart. It
// changes state, so it takes the admin token (requireAdmin); GET shows the level.

import type { Hono } from "hono";
import { LOG_LEVELS, getLogLevel, setLogLevel, type Level, type Logger } from "../util/logger.ts";
import { requireAdmin } from "./http.ts";

export function logLevelRoutes(app: Hono, auth: { client: string | null; node: string | null; admin: string | null }, log: Logger): void {
  app.get("/v1/log-level", (c) => c.json({ level: getLogLevel() }));
  app.put("/v1/log-level", requireAdmin(auth, "changing the log level"), async (c) => {
    const body = (await c.req.json().catch(() => null)) as { level?: unknown } | null;
    const level = body?.level;
    if (typeof level !== "string" || !LOG_LEVELS.includes(level as Level)) {
      return c.json({ error: `level must be one of ${LOG_LEVELS.join(", ")}` }, 400);
    }
    log.info("log level changed", { from: getLogLevel(), to: level });
    setLogLevel(level as Level);
    return c.json({ level });
  });
}
