// Colours by meaning, shared by every view.

import type { Tone } from "../model.ts";

export const toneColor: Record<Tone, string> = { ok: "green", warn: "yellow", bad: "red", idle: "gray" };

export function eventColor(kind: string): string | undefined {
  if (/fail|lost|silent|error|refused|waiting/.test(kind)) return "red";
  if (/warn/.test(kind)) return "yellow";
  if (/reconfig|epoch|promot/.test(kind)) return "cyan";
  if (/join|caught|recover|restart/.test(kind)) return "green";
  if (/sync/.test(kind)) return "yellow";
  return undefined;
}
