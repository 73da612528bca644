// Integer settings whose default follows other settings. Each has a base default and floors
// (other values it must be at least). Left out, it becomes the largest of base and floors, so a
// user who raises one limit gets a consistent set; set explicitly, it must clear every floor.
// A default below the range's minimum is raised to it; one above the maximum is an error.

import { checkRange, type IntRange, type SectionReader } from "./schema.ts";

export interface Floor {
  /** How the floor reads in a message, e.g. "limits.batch_bytes_max + 64". */
  readonly text: string;
  readonly value: number;
}

export interface SizedSpec {
  readonly range: IntRange;
  /** The default before floors apply, with how it reads when it is itself derived. */
  readonly base: number;
  readonly baseText?: string;
  readonly floors?: readonly Floor[];
}

export function readSized(section: SectionReader, name: string, spec: SizedSpec): number {
  const floors = spec.floors ?? [];
  const given = section.readInteger(name, spec.range);
  if (given !== undefined) {
    for (const floor of floors) {
      if (given < floor.value) section.fail(name, `must be at least ${floor.text} (${floor.value}), got ${given}`);
    }
    return given;
  }
  let value = Math.max(spec.base, spec.range.min);
  let source = value === spec.base ? (spec.baseText ?? String(spec.base)) : String(value);
  for (const floor of floors) {
    if (floor.value > value) {
      value = floor.value;
      source = floor.text;
    }
  }
  checkRange(section, name, value, spec.range, ` (the default, from ${source}); set it explicitly, or lower what it follows`);
  return value;
}
