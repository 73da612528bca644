// A strict reader of Prometheus text format 0.0.4, for tests: it throws on anything a Prometheus
// server would reject, and on what the format only recommends (HELP and TYPE before every family,
// each family's samples together, consistent histograms).

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: PromSample[];
}

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = "[a-zA-Z_][a-zA-Z0-9_]*";
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = "(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?|Inf)|NaN)";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL}=${LABEL_VALUE})(?:,${LABEL}=${LABEL_VALUE})*,?)?\\})? (${VALUE})(?: -?\\d+)?$`);
const PAIR = new RegExp(`(${LABEL})=(${LABEL_VALUE})`, "g");
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

function parseValue(text: string): number {
  if (text === "NaN") return NaN;
  if (text.endsWith("Inf")) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

function unescape(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const f = m ? families.get(m[1]) : undefined;
  return f && (f.type === "histogram" || f.type === "summary") ? f : undefined;
}

export function parsePrometheus(text: string): Map<string, PromFamily> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, PromFamily>();
  const helps = new Map<string, string>();
  const finished = new Set<string>();
  let current: PromFamily | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1} ("${line}")`;
    if (line === "") throw new Error(`${where}: empty line`);
    if (line.startsWith("#")) {
      const help = HELP.exec(line);
      if (help) {
        if (helps.has(help[1])) throw new Error(`${where}: second HELP for ${help[1]}`);
        helps.set(help[1], help[2]);
        return;
      }
      const type = TYPE.exec(line);
      if (!type) throw new Error(`${where}: a comment that is neither HELP nor TYPE`);
      const name = type[1];
      if (families.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
      if (helps.get(name) === undefined) throw new Error(`${where}: TYPE for ${name} without a HELP before it`);
      if (current) finished.add(current.name);
      current = { name, help: helps.get(name)!, type: type[2] as PromFamily["type"], samples: [] };
      families.set(name, current);
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a valid sample line`);
    const family = familyOf(m[1], families);
    if (!family) throw new Error(`${where}: sample of ${m[1]}, which has no TYPE line before it`);
    if (family !== current || finished.has(family.name)) throw new Error(`${where}: ${family.name}'s samples are not together`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(PAIR)) {
      if (k in labels) throw new Error(`${where}: label ${k} repeats`);
      labels[k] = unescape(v);
    }
    const value = parseValue(m[3]);
    if (family.type === "counter" && !(value >= 0)) throw new Error(`${where}: a counter below 0`);
    family.samples.push({ name: m[1], labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** Per label set: `le` ascending and ending in +Inf, counts cumulative, +Inf bucket = _count, a _sum. */
function checkHistogram(f: PromFamily): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      entry.buckets.push([parseValue(le), s.value]);
    } else if (s.name === `${f.name}_sum`) entry.sum = s.value;
    else if (s.name === `${f.name}_count`) entry.count = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const [key, e] of series) {
    const what = `${f.name}${key}`;
    if (e.sum === undefined || e.count === undefined) throw new Error(`${what}: _sum or _count missing`);
    if (e.buckets.length === 0 || e.buckets[e.buckets.length - 1][0] !== Infinity) throw new Error(`${what}: the last bucket is not le="+Inf"`);
    for (let i = 1; i < e.buckets.length; i++) {
      if (!(e.buckets[i][0] > e.buckets[i - 1][0])) throw new Error(`${what}: bucket bounds not ascending`);
      if (e.buckets[i][1] < e.buckets[i - 1][1]) throw new Error(`${what}: bucket counts not cumulative`);
    }
    if (e.buckets[e.buckets.length - 1][1] !== e.count) throw new Error(`${what}: the +Inf bucket differs from _count`);
  }
}

/** The one sample of `name` whose labels include `labels`; throws when there is not exactly one. */
export function sampleOf(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const all = [...families.values()].flatMap((f) => f.samples);
  const hits = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name}${JSON.stringify(labels)}, expected one`);
  return hits[0].value;
}
