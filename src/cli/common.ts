// Pieces shared by the CLI commands.

import { DEFAULT_MASTER_CONFIG_PATH, masterUrlFromConfigFile } from "../config/index.ts";
import { readFileSync } from "node:fs";
import { UsageError, stringFlag, type Parsed } from "./args.ts";

/** --master, else $CATENA_MASTER, else the address in config/master.toml. */
export function masterUrl(p: Parsed, command: string): string {
  const given = stringFlag(p, "master") ?? process.env.CATENA_MASTER;
  const scheme = (stringFlag(p, "ca-file") ?? process.env.CATENA_CA_FILE) ? "https" : "http";
  if (given) return given.includes("://") ? given : `${scheme}://${given}`;
  const fromFile = masterUrlFromConfigFile(DEFAULT_MASTER_CONFIG_PATH);
  if (fromFile) return fromFile;
  throw new UsageError(`${command}: no master given: pass --master URL, set CATENA_MASTER, or run from a directory with ${DEFAULT_MASTER_CONFIG_PATH}`);
}

function readSecret(p: Parsed, flag: string, env: string, command: string): string | undefined {
  const file = stringFlag(p, flag) ?? process.env[env];
  if (!file) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`${command}: cannot read --${flag} ${file}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
}

/** Where the master is and what to present to it and the nodes: ClientOptions for CatenaClient. */
export function clientOptions(p: Parsed, command: string): { master: string; token?: string; ca?: string } {
  const token = readSecret(p, "token-file", "CATENA_TOKEN_FILE", command)?.trim();
  const ca = readSecret(p, "ca-file", "CATENA_CA_FILE", command);
  return { master: masterUrl(p, command), ...(token ? { token } : {}), ...(ca ? { ca } : {}) };
}

/** The command line that runs this same program again (compiled binary or `bun src/cli/main.ts`). */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (s: NodeJS.Signals) => resolve(s);
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}
