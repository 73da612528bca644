// Metric families and their text exposition (Prometheus format 0.0.4). A family is a counter, a
// gauge or a histogram with declared label names and one child per set of label values. Look a
// child up once, at setup, and keep it: `labels()` builds a key, the child's update does not.
// A family can instead be read at scrape time from state kept elsewhere (`collect`).

import { Histogram } from "./histogram.ts";

export type Labels = Readonly<Record<string, string | number>>;
export type MetricType = "counter" | "gauge" | "histogram";
export interface Sample {
  labels: Labels;
  value: number;
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class Counter {
  value = 0;

  inc(by = 1): void {
    if (!(by >= 0)) throw new Error(`a counter only goes up: inc(${by})`);
    this.value += by;
  }
}

export class Gauge {
  value = 0;

  set(value: number): void {
    this.value = value;
  }
}

/** The children of one family, keyed by their formatted label set. */
export class Family<T> {
  private readonly children = new Map<string, T>();

  constructor(
    private readonly labelNames: readonly string[],
    private readonly make: () => T,
  ) {}

  labels(labels: Labels = {}): T {
    const key = formatLabels(this.labelNames, labels);
    let child = this.children.get(key);
    if (!child) this.children.set(key, (child = this.make()));
    return child;
  }

  entries(): IterableIterator<[string, T]> {
    return this.children.entries();
  }
}

interface Registered {
  help: string;
  type: MetricType;
  lines(name: string, out: string[]): void;
}

export class Registry {
  private readonly families = new Map<string, Registered>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Family<Counter> {
    if (!name.endsWith("_total")) throw new Error(`counter ${name}: a counter's name ends in _total`);
    const family = new Family(this.checkLabels(name, labelNames), () => new Counter());
    this.add(name, help, "counter", (n, out) => {
      for (const [labels, c] of family.entries()) out.push(sampleLine(n, labels, c.value));
    });
    return family;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Family<Gauge> {
    const family = new Family(this.checkLabels(name, labelNames), () => new Gauge());
    this.add(name, help, "gauge", (n, out) => {
      for (const [labels, g] of family.entries()) out.push(sampleLine(n, labels, g.value));
    });
    return family;
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): Family<Histogram> {
    if (labelNames.includes("le")) throw new Error(`histogram ${name}: "le" is the bucket label and cannot be one of its own`);
    new Histogram(bounds); // checks the bounds now rather than at the first labels() call
    const family = new Family(this.checkLabels(name, labelNames), () => new Histogram(bounds));
    this.add(name, help, "histogram", (n, out) => {
      for (const [labels, h] of family.entries()) {
        const prefix = labels ? `${labels},` : "";
        for (const b of h.cumulative()) out.push(sampleLine(`${n}_bucket`, `${prefix}le="${formatValue(b.le)}"`, b.count));
        out.push(sampleLine(`${n}_bucket`, `${prefix}le="+Inf"`, h.count));
        out.push(sampleLine(`${n}_sum`, labels, h.sum));
        out.push(sampleLine(`${n}_count`, labels, h.count));
      }
    });
    return family;
  }

  /** A counter or gauge whose samples are read when scraped, from state kept elsewhere. */
  collect(name: string, help: string, type: "counter" | "gauge", labelNames: readonly string[], samples: () => Iterable<Sample>): void {
    if (type === "counter" && !name.endsWith("_total")) throw new Error(`counter ${name}: a counter's name ends in _total`);
    const names = this.checkLabels(name, labelNames);
    this.add(name, help, type, (n, out) => {
      for (const s of samples()) out.push(sampleLine(n, formatLabels(names, s.labels), s.value));
    });
  }

  /** Every family in registration order, as Prometheus text format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`);
      f.lines(name, out);
    }
    return out.join("\n") + "\n";
  }

  private add(name: string, help: string, type: MetricType, lines: Registered["lines"]): void {
    if (!METRIC_NAME.test(name)) throw new Error(`metric name "${name}" is not a valid Prometheus name`);
    if (this.families.has(name)) throw new Error(`metric ${name} is registered twice`);
    this.families.set(name, { help, type, lines });
  }

  private checkLabels(name: string, labelNames: readonly string[]): readonly string[] {
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__")) throw new Error(`metric ${name}: label name "${l}" is not a valid Prometheus label name`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`metric ${name}: label names repeat: ${labelNames.join(", ")}`);
    return labelNames;
  }
}

/** `a="1",b="x"` in the declared order; every declared label must be given, and no other. */
function formatLabels(names: readonly string[], labels: Labels): string {
  const given = Object.keys(labels);
  if (given.length !== names.length || given.some((k) => !names.includes(k))) {
    throw new Error(`labels {${given.join(", ")}} do not match the declared {${names.join(", ")}}`);
  }
  return names.map((n) => `${n}="${escapeLabelValue(String(labels[n]))}"`).join(",");
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function sampleLine(name: string, labels: string, value: number): string {
  return `${name}${labels ? `{${labels}}` : ""} ${formatValue(value)}`;
}
