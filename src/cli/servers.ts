// `catena master` and `catena node`: run a server until SIGINT or SIGTERM, then stop cleanly.

import { loadMasterConfig, loadNodeConfig } from "../config/index.ts";
import { masterApp } from "../master/http.ts";
import { Master } from "../master/master.ts";
import { StorageNode } from "../node/node.ts";
import { createLogger } from "../util/logger.ts";
import { UsageError, stringFlag, type Parsed } from "./args.ts";
import { untilSignal } from "./common.ts";

function configPath(p: Parsed, command: string): string {
  const file = stringFlag(p, "config");
  if (!file) throw new UsageError(`${command}: --config FILE is required`);
  return file;
}

export async function runMaster(p: Parsed): Promise<number> {
  const config = loadMasterConfig(configPath(p, "master"));
  const log = createLogger({ role: "master" });
  const master = new Master(config, log);
  master.start();
  const server = Bun.serve({ hostname: config.listen.host, port: config.listen.port, fetch: masterApp(master).fetch });
  log.info("master listening", { addr: `${config.listen.host}:${server.port}`, stateDir: config.stateDir });
  const signal = await untilSignal();
  log.info("master stopping", { signal });
  server.stop(true);
  return 0;
}

export async function runNode(p: Parsed): Promise<number> {
  const config = loadNodeConfig(configPath(p, "node"));
  const log = createLogger({ node: config.nodeId });
  // A test hook, never needed in production: see docs/testing.md.
  const node = new StorageNode(config, log, { syncedFile: process.env.CATENA_TEST_SYNCED_FILE || undefined });
  await node.start();
  const signal = await untilSignal();
  log.info("node stopping", { signal });
  await node.stop();
  log.info("node stopped; logs synced and closed");
  return 0;
}
