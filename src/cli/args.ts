// Command-line flags through node:util's parseArgs (built into Bun): --flag, --key value,
// --key=value, -k value, and positionals; its errors become one UsageError line naming the command.

import { parseArgs as parseArgv } from "node:util";

export class UsageError extends Error {}

export interface FlagSpec {
  /** Flags that take a value. */
  values?: string[];
  /** Flags that are booleans. */
  booleans?: string[];
  /** Short aliases, e.g. { c: "clients" }. */
  aliases?: Record<string, string>;
}

export interface Parsed {
  flags: Map<string, string | true>;
  positionals: string[];
}

type Options = Record<string, { type: "string" | "boolean"; short?: string }>;

function optionsOf(spec: FlagSpec): Options {
  const options: Options = { help: { type: "boolean", short: "h" } };
  for (const name of spec.values ?? []) options[name] = { type: "string" };
  for (const name of spec.booleans ?? []) options[name] = { type: "boolean" };
  for (const [short, name] of Object.entries(spec.aliases ?? {})) options[name] = { ...options[name], short };
  return options;
}

export function parseArgs(argv: string[], spec: FlagSpec, command: string): Parsed {
  const options = optionsOf(spec);
  let parsed: ReturnType<typeof parseArgv>;
  try {
    parsed = parseArgv({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(usageProblem(e as Error & { code?: string }, options, command));
  }
  const flags = new Map<string, string | true>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === "string") flags.set(name, value);
    else if (value === true) flags.set(name, true);
  }
  return { flags, positionals: parsed.positionals };
}

/** parseArgs' error, in this CLI's words. */
function usageProblem(e: Error & { code?: string }, options: Options, command: string): string {
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const option = /'(-[^'\s]+)'/.exec(e.message)?.[1] ?? "";
    return `${command}: unknown option ${option}; see catena ${command} --help`;
  }
  // "Option '-c, --clients <value>' argument missing", "Option '--json' does not take an argument"
  const name = /--([\w-]+)/.exec(e.message)?.[1] ?? "";
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && options[name]?.type === "boolean") return `${command}: --${name} takes no value`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /ambiguous/.test(e.message)) return `${command}: --${name} needs a value; one that starts with "-" is written --${name}=VALUE`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") return `${command}: --${name} needs a value`;
  return `${command}: ${e.message.split("\n")[0]}`;
}
export function stringFlag(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

export function intFlag(p: Parsed, name: string, command: string, fallback: number, min = 0): number {
  const v = stringFlag(p, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`${command}: --${name} must be a whole number of at least ${min}, got "${v}"`);
  }
  return Number(v);
}

export function boolFlag(p: Parsed, name: string): boolean {
  return p.flags.get(name) === true;
}
