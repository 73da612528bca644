// A small argv parser: --flag, --key value, --key=value, -k value, and positionals.

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

export function parseArgs(argv: string[], spec: FlagSpec, command: string): Parsed {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  const values = new Set(spec.values ?? []);
  const booleans = new Set([...(spec.booleans ?? []), "help"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let name = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (!arg.startsWith("--")) name = spec.aliases?.[name] ?? (name === "h" ? "help" : name);
    if (booleans.has(name)) {
      if (value !== undefined) throw new UsageError(`${command}: --${name} takes no value`);
      flags.set(name, true);
    } else if (values.has(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${command}: --${name} needs a value`);
        value = argv[++i];
      }
      flags.set(name, value);
    } else {
      throw new UsageError(`${command}: unknown option ${arg}; see catena ${command} --help`);
    }
  }
  return { flags, positionals };
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
