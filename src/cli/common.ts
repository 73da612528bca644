// Pieces shared by the CLI commands.

import { DEFAULT_MASTER_CONFIG_PATH, masterUrlFromConfigFile } from "../config/index.ts";
import { UsageError, stringFlag, type Parsed } from "./args.ts";

/** --master, else $CATENA_MASTER, else the address in config/master.toml. */
export function masterUrl(p: Parsed, command: string): string {
  const given = stringFlag(p, "master") ?? process.env.CATENA_MASTER;
  if (given) return given.includes("://") ? given : `http://${given}`;
  const fromFile = masterUrlFromConfigFile(DEFAULT_MASTER_CONFIG_PATH);
  if (fromFile) return fromFile;
  throw new UsageError(`${command}: no master given: pass --master URL, set CATENA_MASTER, or run from a directory with ${DEFAULT_MASTER_CONFIG_PATH}`);
}

/** The command line that runs this same program again (compiled binary or `bun src/cli/main.ts`). */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

export const textDecoder = new TextDecoder();

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (s: NodeJS.Signals) => resolve(s);
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}
