// Reading and parsing a config file, and the small helpers both config kinds share.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "./errors.ts";
import { isTable } from "./schema.ts";

const READ_PROBLEMS: { readonly [code: string]: string } = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a parent of the path is not a directory",
};

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "";
    const problem = READ_PROBLEMS[code] ?? (error instanceof Error ? error.message : String(error));
    throw new ConfigError(file, "", `cannot read file: ${problem}`);
  }
}

export function parseToml(text: string, file: string): { [key: string]: unknown } {
  let doc: unknown;
  try {
    doc = Bun.TOML.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(file, "", `TOML syntax error: ${message.replace(/^TOML Parse error:\s*/, "")}`);
  }
  if (!isTable(doc)) throw new ConfigError(file, "", "TOML syntax error: the document is not a table");
  return doc;
}

/** Relative paths are taken from the working directory at load time, as a shell would. */
export function resolvePath(text: string): string {
  return resolve(process.cwd(), text);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
