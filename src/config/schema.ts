// A small reader over a parsed TOML document: every key is declared, typed and range-checked,
// and every problem becomes a ConfigError that names the file and the dotted key.

import { type Address, parseAddress } from "./address.ts";
import { ConfigError } from "./errors.ts";

type Table = { [key: string]: unknown };

/** The keys each table may hold: `{ log: ["dir", "sync"], ... }`. */
export type KnownKeys = { readonly [table: string]: readonly string[] };

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export function isTable(value: unknown): value is Table {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How a value reads in a message: strings quoted, numbers as written, the rest by kind. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return Number.isNaN(value) ? "nan" : String(value).replace("Infinity", "inf");
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "an array";
  if (isTable(value)) return "a table";
  return "a date-time";
}

/** Reads a whole document. Unknown tables and keys are rejected up front, before anything else. */
export class DocumentReader {
  constructor(
    readonly file: string,
    private readonly doc: Table,
    known: KnownKeys,
  ) {
    const tables = Object.keys(known);
    for (const name of Object.keys(doc)) {
      const keys = known[name];
      if (keys === undefined || !Object.hasOwn(known, name)) {
        throw new ConfigError(file, name, `unknown ${isTable(doc[name]) ? "table" : "key"} (known tables: ${tables.join(", ")})`);
      }
      const table = doc[name];
      if (!isTable(table)) throw new ConfigError(file, name, `must be a table ([${name}]), got ${describe(table)}`);
      for (const key of Object.keys(table)) {
        if (!keys.includes(key)) {
          throw new ConfigError(file, `${name}.${key}`, `unknown key (known keys in [${name}]: ${keys.join(", ")})`);
        }
      }
    }
  }

  section(name: string): SectionReader {
    const table = Object.hasOwn(this.doc, name) ? (this.doc[name] as Table) : {};
    return new SectionReader(this.file, name, table);
  }
}

/** One table's keys. `read*` return undefined when the key is absent; `require*` throw. */
export class SectionReader {
  constructor(
    readonly file: string,
    readonly name: string,
    private readonly table: Table,
  ) {}

  key(name: string): string {
    return `${this.name}.${name}`;
  }

  fail(name: string, problem: string): never {
    throw new ConfigError(this.file, this.key(name), problem);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.table, name);
  }

  readString(name: string): string | undefined {
    if (!this.has(name)) return undefined;
    const value = this.table[name];
    if (typeof value !== "string") this.fail(name, `must be a string, got ${describe(value)}`);
    return value;
  }

  requireString(name: string): string {
    return this.readString(name) ?? this.missing(name);
  }

  readInteger(name: string, range: IntRange): number | undefined {
    if (!this.has(name)) return undefined;
    const value = this.table[name];
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      this.fail(name, `must be an integer, got ${describe(value)}`);
    }
    checkRange(this, name, value, range, "");
    return value;
  }

  readEnum<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.readString(name);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      this.fail(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${describe(value)}`);
    }
    return value as T;
  }

  requireAddress(name: string, options: { allowPortZero: boolean }): Address {
    const parsed = parseAddress(this.requireString(name), options);
    if (typeof parsed === "string") this.fail(name, parsed);
    return parsed;
  }

  private missing(name: string): never {
    return this.fail(name, `required key is missing (add it under [${this.name}])`);
  }
}

/** `note` explains where a value came from when the file did not set it, e.g. " (the default)". */
export function checkRange(section: SectionReader, name: string, value: number, range: IntRange, note: string): void {
  if (value < range.min || value > range.max) {
    section.fail(name, `must be ${range.min}..${range.max}, got ${value}${note}`);
  }
}
