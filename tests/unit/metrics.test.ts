// Metrics (src/metrics/), their text exposition checked by a strict parser, the commit timer, the
// log's sync-round observer, and the structured log lines.

import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Log } from "../../src/log/log.ts";
import { Histogram, LATENCY_BUCKETS_SECONDS } from "../../src/metrics/histogram.ts";
import { Registry, escapeLabelValue } from "../../src/metrics/registry.ts";
import { CommitTimer } from "../../src/node/commit-timer.ts";
import { RECORD_HEADER_BYTES, dataView, encodeRecordInto } from "../../src/protocol/record.ts";
import { createLogger, setLogLevel } from "../../src/util/logger.ts";
import { parsePrometheus, sampleOf } from "../helpers/prometheus.ts";

describe("Histogram", () => {
  test("a value equal to a bound falls in that bound's bucket; above every bound, only in +Inf", () => {
    const h = new Histogram([1, 2, 5]);
    for (const v of [0, 1, 1.5, 2, 5, 5.01, 100]) h.observe(v);
    expect(h.cumulative()).toEqual([
      { le: 1, count: 2 },
      { le: 2, count: 4 },
      { le: 5, count: 5 },
    ]);
    expect(h.count).toBe(7);
    expect(h.sum).toBeCloseTo(114.51, 10);
  });

  test("bounds must be finite and strictly increasing", () => {
    expect(() => new Histogram([])).toThrow();
    expect(() => new Histogram([1, 1])).toThrow();
    expect(() => new Histogram([2, 1])).toThrow();
    expect(() => new Histogram([1, Infinity])).toThrow();
    expect(() => new Histogram(LATENCY_BUCKETS_SECONDS)).not.toThrow();
  });
});

describe("Registry", () => {
  test("renders HELP, TYPE and samples in text format 0.0.4", () => {
    const r = new Registry();
    r.counter("t_requests_total", "Requests.", ["path"]).labels({ path: "/a" }).inc(3);
    r.gauge("t_temperature", "Degrees.").labels().set(-1.5);
    r.histogram("t_latency_seconds", "Latency.", ["node"], [0.1, 1]).labels({ node: "n1" }).observe(0.5);
    r.collect("t_offset", "Offsets.", "gauge", ["chain"], () => [{ labels: { chain: 1 }, value: 42 }]);
    expect(r.render()).toBe(
      [
        "# HELP t_requests_total Requests.",
        "# TYPE t_requests_total counter",
        't_requests_total{path="/a"} 3',
        "# HELP t_temperature Degrees.",
        "# TYPE t_temperature gauge",
        "t_temperature -1.5",
        "# HELP t_latency_seconds Latency.",
        "# TYPE t_latency_seconds histogram",
        't_latency_seconds_bucket{node="n1",le="0.1"} 0',
        't_latency_seconds_bucket{node="n1",le="1"} 1',
        't_latency_seconds_bucket{node="n1",le="+Inf"} 1',
        't_latency_seconds_sum{node="n1"} 0.5',
        't_latency_seconds_count{node="n1"} 1',
        "# HELP t_offset Offsets.",
        "# TYPE t_offset gauge",
        't_offset{chain="1"} 42',
        "",
      ].join("\n"),
    );
  });

  test("label values and HELP text are escaped; the output parses back to the same values", () => {
    const r = new Registry();
    const odd = 'a "quoted" \\ back\nslash';
    r.gauge("t_odd", "Help with \\ and\na newline.", ["v"]).labels({ v: odd }).set(NaN);
    r.gauge("t_inf", "Infinities.", ["sign"]).labels({ sign: "+" }).set(Infinity);
    const text = r.render();
    expect(text).toContain('t_odd{v="a \\"quoted\\" \\\\ back\\nslash"} NaN');
    expect(text).toContain("# HELP t_odd Help with \\\\ and\\na newline.");
    const parsed = parsePrometheus(text);
    expect(parsed.get("t_odd")!.samples[0].labels.v).toBe(odd);
    expect(Number.isNaN(sampleOf(parsed, "t_odd"))).toBe(true);
    expect(sampleOf(parsed, "t_inf", { sign: "+" })).toBe(Infinity);
    expect(escapeLabelValue("plain")).toBe("plain");
  });

  test("names, labels and counters are checked when registered, not when scraped", () => {
    const r = new Registry();
    r.gauge("t_once", "x");
    expect(() => r.gauge("t_once", "x")).toThrow(/registered twice/);
    expect(() => r.gauge("9bad", "x")).toThrow(/not a valid Prometheus name/);
    expect(() => r.gauge("t_l", "x", ["bad-label"])).toThrow(/label name/);
    expect(() => r.gauge("t_r", "x", ["__reserved"])).toThrow(/label name/);
    expect(() => r.gauge("t_d", "x", ["a", "a"])).toThrow(/repeat/);
    expect(() => r.counter("t_no_suffix", "x")).toThrow(/_total/);
    expect(() => r.histogram("t_h", "x", ["le"], [1])).toThrow(/le/);
    expect(() => r.histogram("t_h2", "x", [], [2, 1])).toThrow(/increasing/);
    const c = r.counter("t_c_total", "x", ["a"]);
    expect(() => c.labels({ b: 1 })).toThrow(/do not match/);
    expect(() => c.labels({ a: 1, b: 2 })).toThrow(/do not match/);
    expect(() => c.labels({ a: 1 }).inc(-1)).toThrow(/only goes up/);
  });

  test("a child is found again by its labels", () => {
    const r = new Registry();
    const f = r.counter("t_hits_total", "x", ["chain"]);
    f.labels({ chain: 1 }).inc();
    f.labels({ chain: 1 }).inc();
    f.labels({ chain: 2 }).inc();
    const parsed = parsePrometheus(r.render());
    expect(sampleOf(parsed, "t_hits_total", { chain: "1" })).toBe(2);
    expect(sampleOf(parsed, "t_hits_total", { chain: "2" })).toBe(1);
  });

  test("observe allocates nothing: a million observations leave the heap where it was", () => {
    const h = new Registry().histogram("t_fast_seconds", "x", [], LATENCY_BUCKETS_SECONDS).labels();
    for (let i = 0; i < 10_000; i++) h.observe(i * 1e-6); // warm up
    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) h.observe((i % 20_000) * 1e-6);
    const grown = process.memoryUsage().heapUsed - before;
    expect(h.count).toBe(1_010_000);
    expect(grown).toBeLessThan(1 << 20);
  });
});

describe("the strict exposition parser used by these tests", () => {
  const bad: [string, string][] = [
    ["no trailing newline", "# HELP a x\n# TYPE a gauge\na 1"],
    ["sample before TYPE", "a 1\n"],
    ["TYPE without HELP", "# TYPE a gauge\na 1\n"],
    ["bad value", "# HELP a x\n# TYPE a gauge\na one\n"],
    ["unescaped quote", '# HELP a x\n# TYPE a gauge\na{l="x"y"} 1\n'],
    ["negative counter", "# HELP a_total x\n# TYPE a_total counter\na_total -1\n"],
    ["families interleaved", "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\nb 1\na 1\n"],
    ["histogram without +Inf", '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ["histogram not cumulative", '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ["+Inf differs from count", '# HELP h x\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
  ];
  for (const [what, text] of bad) test(`rejects: ${what}`, () => expect(() => parsePrometheus(text)).toThrow());
});

describe("CommitTimer", () => {
  const recorder = () => {
    const seen: number[] = [];
    return { seen, observe: (s: number) => void seen.push(s) };
  };

  test("each batch is observed once, when the commit end reaches its end, in seconds", () => {
    const r = recorder();
    const t = new CommitTimer(r);
    t.written(10, 1000);
    t.written(20, 1002);
    t.written(30, 1003);
    t.committed(9, 1004); // not all of the first batch
    expect(r.seen).toEqual([]);
    t.committed(20, 1010);
    expect(r.seen).toEqual([0.01, 0.008]);
    t.committed(20, 1020);
    t.committed(100, 1053);
    expect(r.seen).toEqual([0.01, 0.008, 0.05]);
  });

  test("a full ring leaves new batches untimed; it wraps around once it empties", () => {
    const r = recorder();
    const t = new CommitTimer(r, 2);
    t.written(1, 0);
    t.written(2, 0);
    t.written(3, 0); // not timed
    t.committed(3, 1000);
    expect(r.seen).toEqual([1, 1]);
    for (let end = 4; end < 20; end++) {
      t.written(end, end);
      t.committed(end, end + 1);
    }
    expect(r.seen.length).toBe(18);
  });

  test("after the log was cut back, batches beyond the cut are forgotten", () => {
    const r = recorder();
    const t = new CommitTimer(r);
    t.written(10, 0);
    t.written(20, 0);
    t.written(15, 5); // the log now ends lower: the batch ending at 20 never commits
    t.committed(20, 1005);
    expect(r.seen).toEqual([1.005, 1]);
  });
});

describe("Log sync rounds", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("every successful round is given to syncSeconds", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "catena-metrics-"));
    dirs.push(dir);
    const rounds: number[] = [];
    const log = await Log.open({
      dir, segmentBytes: 64 * 1024, indexIntervalBytes: 1024, recordBytesMax: 1024, sync: "always", syncIntervalMs: 20,
      syncSeconds: { observe: (s) => void rounds.push(s) },
    });
    const durable = new Promise<void>((resolve) => (log.onDurable = (end) => end === 3 && resolve()));
    const bytes = new Uint8Array(3 * (RECORD_HEADER_BYTES + 4));
    const dv = dataView(bytes);
    let pos = 0;
    for (let i = 0; i < 3; i++) pos = encodeRecordInto(bytes, dv, pos, i, 1, i, new Uint8Array(4));
    log.append(bytes, 0, bytes.length, 3);
    await durable;
    await log.close();
    expect(rounds.length).toBeGreaterThan(0);
    // Each round is an fsync of a real file: it takes time, measured in seconds (not ms).
    for (const s of rounds) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(10);
    }
  });
});

describe("logger", () => {
  test("JSON lines: time, level, the logger's fields, message, then the call's fields", () => {
    const lines: string[] = [];
    let epoch = 3;
    const root = createLogger({ node: "n1" }, { pretty: false, write: (l) => void lines.push(l) });
    const replica = root.child({ chain: 1, epoch: () => epoch });
    replica.info("layout applied", { role: "head" });
    epoch = 4;
    replica.warn("second");
    root.child({ role: "master" }).error("boom", { event: "failed" });
    const parsed = lines.map((l) => JSON.parse(l));
    expect(lines.every((l) => l.endsWith("}\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    expect(Object.keys(parsed[0])).toEqual(["time", "level", "node", "chain", "epoch", "message", "role"]);
    expect(parsed[0]).toMatchObject({ level: "info", node: "n1", chain: 1, epoch: 3, message: "layout applied", role: "head" });
    expect(parsed[1]).toMatchObject({ level: "warn", epoch: 4, message: "second" });
    expect(parsed[2]).toMatchObject({ level: "error", node: "n1", role: "master", message: "boom", event: "failed" });
    expect(Number.isNaN(Date.parse(parsed[0].time))).toBe(false);
  });

  test("readable lines on a terminal; below the level, nothing", () => {
    const lines: string[] = [];
    const log = createLogger({ node: "n1", epoch: () => 7 }, { pretty: true, write: (l) => void lines.push(l) });
    log.info("hello", { chain: 1, gone: undefined, obj: { a: 1 } });
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  hello {2}node=n1 epoch=7 chain=1 obj=\{"a":1\}\n$/);
    setLogLevel("warn");
    try {
      log.info("quiet");
      log.debug("quieter");
    } finally {
      setLogLevel("info");
    }
    expect(lines.length).toBe(1);
  });
});
