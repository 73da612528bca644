// The measurements behind keeping two hand-written parts (README, "Dependencies"): the metrics
// registry against prom-client, and the latency histogram against hdr-histogram-js. Neither
// library is a dependency; install them for this run only:
//
//   npm install --no-save prom-client@15 hdr-histogram-js@3 && bun scripts/library-compare.ts

import { bench, group, run, summary } from "mitata";
import { Histogram } from "../src/bench/histogram.ts";
import { Registry } from "../src/metrics/registry.ts";

const load = async (name: string) => {
  try {
    return await import(name);
  } catch {
    console.error(`${name} is not installed: npm install --no-save prom-client@15 hdr-histogram-js@3`);
    process.exit(2);
  }
};
const hdr = await load("hdr-histogram-js");
const prom = (await load("prom-client")).default;

const values = Float64Array.from({ length: 4096 }, (_, i) => 50 + ((i * 7919) % 20000));
const ours = new Histogram();
const theirs = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2, useWebAssembly: false });

// A node's /metrics page: about 20 families of a few children each, rendered per scrape.
const ourRegistry = new Registry();
const promRegistry = new prom.Registry();
for (let f = 0; f < 20; f++) {
  const family = ourRegistry.counter(`catena_family_${f}_total`, "help text of a family", ["chain", "node"]);
  const counter = new prom.Counter({ name: `catena_family_${f}_total`, help: "help text of a family", labelNames: ["chain", "node"], registers: [promRegistry] });
  for (let c = 0; c < 3; c++) {
    family.labels({ chain: 1, node: `n${c}` }).inc(f * c);
    counter.inc({ chain: "1", node: `n${c}` }, f * c);
  }
}
const ourChild = ourRegistry.counter("catena_x_total", "x", ["chain"]).labels({ chain: 1 });
const promChild = new prom.Counter({ name: "catena_x_total", help: "x", labelNames: ["chain"], registers: [promRegistry] }).labels({ chain: "1" });

summary(() => {
  group("histogram: record one latency", () => {
    let i = 0;
    bench("catena Histogram.record", () => ours.record(values[i++ & 4095]));
    let j = 0;
    bench("hdr-histogram-js recordValue", () => theirs.recordValue(values[j++ & 4095]));
  });
  group("metrics: render a page of 20 families x 3 children", () => {
    bench("catena Registry.render", () => ourRegistry.render());
    bench("prom-client registry.metrics", async () => await promRegistry.metrics());
  });
  group("metrics: increment a counter child", () => {
    bench("catena Counter.inc", () => ourChild.inc());
    bench("prom-client counter child inc", () => promChild.inc());
  });
});
await run();

// What each adds to a bundle (minified, as bun build would put it into the binary).
for (const [name, source] of [
  ["catena Histogram", `import { Histogram } from "${import.meta.dir}/../src/bench/histogram.ts"; new Histogram().record(5);`],
  ["hdr-histogram-js", `import { build } from "hdr-histogram-js"; build({ useWebAssembly: false }).recordValue(5);`],
  ["catena Registry", `import { Registry } from "${import.meta.dir}/../src/metrics/registry.ts"; new Registry().counter("x_total", "x").labels().inc();`],
  ["prom-client", `import c from "prom-client"; new c.Counter({ name: "x_total", help: "x" }).inc();`],
] as const) {
  const entry = `${import.meta.dir}/../.tmp/library-compare-${name.replace(/\W+/g, "-")}.ts`;
  await Bun.write(entry, source);
  const built = await Bun.build({ entrypoints: [entry], target: "bun", minify: true });
  console.log(`${name.padEnd(18)} ${(await built.outputs[0].text()).length} bytes minified`);
}
