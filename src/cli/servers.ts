// `catena master` and `catena node`: run a server until SIGINT or SIGTERM, then stop cleanly.

import { mkdirSync } from "node:fs";
import { ConfigError, loadMasterConfig, loadNodeConfig } from "../config/index.ts";
import { masterApp } from "../master/http.ts";
import { Master } from "../master/master.ts";
import { StorageNode } from "../node/node.ts";
import { listenOrExplain } from "../transport/listen-error.ts";
import { DirLockHeld, lockDir } from "../util/dir-lock.ts";
import { LOG_LEVELS, createLogger, setLogLevel, type Level } from "../util/logger.ts";
import { UsageError, stringFlag, type Parsed } from "./args.ts";
import { untilSignal } from "./common.ts";

/** --log-level, else $CATENA_LOG_LEVEL, else info. */
function applyLogLevel(p: Parsed, command: string): void {
  const level = stringFlag(p, "log-level") ?? process.env.CATENA_LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(level as Level)) throw new UsageError(`${command}: log level must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
  setLogLevel(level as Level);
}

function configPath(p: Parsed, command: string): string {
  const file = stringFlag(p, "config");
  if (!file) throw new UsageError(`${command}: --config FILE is required`);
  return file;
}

/**
 * Locks a server's data directory for the life of this process, so that a second master or node
 * pointed at it by mistake stops at once instead of overwriting the first one's state or log.
 */
function lockDataDir(dir: string, holder: string, key: string, configFile: string): void {
  mkdirSync(dir, { recursive: true });
  try {
    lockDir(dir, holder);
  } catch (e) {
    if (!(e instanceof DirLockHeld)) throw e;
    const who = `${e.holder ?? "catena process"}${e.pid === null ? "" : ` (PID ${e.pid})`}`;
    throw new ConfigError(dir, "", `in use by another ${who}; stop that process first, or give this one its own ${key} in ${configFile}`);
  }
}

export async function runMaster(p: Parsed): Promise<number> {
  applyLogLevel(p, "master");
  const config = loadMasterConfig(configPath(p, "master"));
  const log = createLogger({ role: "master" });
  lockDataDir(config.stateDir, "catena master", "master.state_dir", config.file);
  const master = new Master(config, log);
  master.start();
  const tls = config.tls ? { tls: { cert: config.tls.cert, key: config.tls.key } } : {};
  const api = { file: config.file, key: "master.server_addr", listener: "master's HTTP API", addr: config.listen };
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = listenOrExplain(api, () => Bun.serve({ hostname: config.listen.host, port: config.listen.port, fetch: masterApp(master).fetch, ...tls }));
  } catch (e) {
    master.stop();
    throw e;
  }
  log.info("master listening", { url: `${config.tls ? "https" : "http"}://${config.listen.host}:${server.port}`, stateDir: config.stateDir, tokens: Object.entries(config.auth).filter(([, v]) => v).map(([k]) => k) });
  const signal = await untilSignal();
  log.info("master stopping", { signal });
  server.stop(true);
  return 0;
}

export async function runNode(p: Parsed): Promise<number> {
  applyLogLevel(p, "node");
  const config = loadNodeConfig(configPath(p, "node"));
  const log = createLogger({ node: config.nodeId });
  lockDataDir(config.log.dir, "catena node", "log.dir", config.file);
  // A test hook, never needed in production: see docs/testing.md.
  const node = new StorageNode(config, log, { syncedFile: process.env.CATENA_TEST_SYNCED_FILE || undefined });
  await node.start();
  const end = await Promise.race([untilSignal().then((signal) => ({ signal, fatal: null })), node.fatal.then((fatal) => ({ signal: null, fatal }))]);
  if (end.fatal) log.error(`node stopping: ${end.fatal.message}`);
  else log.info("node stopping", { signal: end.signal });
  await node.stop();
  log.info("node stopped; logs synced and closed");
  return end.fatal ? 1 : 0;
}
