// Side-by-side benchmark: catena (sync always and none) against NATS JetStream (R3) and etcd
// (3 members), each started here on 127.0.0.1 and measured with the same load shape as
// `catena bench`: C clients × R appends in flight, payload size, warm-up, measured duration.
//
//   bun scripts/compare/run.ts --loads 1x1,2x50,8x100 --sizes 100,4096 --duration 10 \
//     [--warmup 2] [--systems catena,nats,etcd] [--catena-sync always,none] [--etcd-api grpc|gateway] \
//     [--no-build] [--json]
//
// Every server is started in a fresh temp dir for each load/size and stopped (by PID) after it,
// also on error and on Ctrl-C / SIGTERM. Prints one markdown table per load and size (or, with
// --json, one JSON document at the end); progress goes to stderr.

import { readFileSync, readdirSync, existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CATENA_BIN, runCatena, type CatenaSync } from "./catena.ts";
import { etcdVersion, runEtcd, ETCD_BIN, type EtcdApi } from "./etcd.ts";
import type { LoadShape, Result } from "./load.ts";
import { natsVersion, runNats, NATS_BIN } from "./nats.ts";
import { installSignalHandlers, makeTempDir, removeTempDir, stopAll } from "./procs.ts";

const USAGE = `usage: bun scripts/compare/run.ts [--loads CxR,...] [--sizes BYTES,...] [--duration S] [--warmup S]
  [--systems catena,nats,etcd] [--catena-sync always,none] [--etcd-api grpc|gateway] [--no-build] [--json]
defaults: --loads 1x1,2x50,8x100 --sizes 100,4096 --duration 10 --warmup 2 --systems catena,nats,etcd`;

type System = "catena" | "nats" | "etcd";

interface Row {
  system: string;
  acks: string;
  loadClients: number;
  loadInflight: number;
  sizeBytes: number;
  result: Result | null;
  error: string | null;
}

const ACKS = {
  catenaAlways: "committed on all 3 nodes, fdatasynced on each",
  catenaNone: "committed on all 3 nodes, in each one's page cache",
  nats: "stored by a quorum (2 of 3) of the stream's replicas, in the page cache (fsync every 2 min)",
  etcd: "Raft-committed by a quorum (2 of 3), WAL fsynced on each of them",
};

function fail(msg: string): never {
  console.error(`${msg}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  let v;
  try {
    v = parseArgs({
      args: Bun.argv.slice(2),
      options: {
        loads: { type: "string", default: "1x1,2x50,8x100" },
        sizes: { type: "string", default: "100,4096" },
        duration: { type: "string", default: "10" },
        warmup: { type: "string", default: "2" },
        systems: { type: "string", default: "catena,nats,etcd" },
        "catena-sync": { type: "string", default: "always,none" },
        "etcd-api": { type: "string", default: "grpc" },
        "no-build": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const loads = v.loads.split(",").map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) fail(`--loads: "${s}" is not CxR (e.g. 2x50)`);
    return { clients: Number(m[1]), inflight: Number(m[2]) };
  });
  const sizes = v.sizes.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000) fail(`--sizes: "${s}" is not a byte count in 1..1000000`);
    return n;
  });
  const duration = Number(v.duration);
  const warmup = Number(v.warmup);
  if (!Number.isInteger(duration) || duration < 1 || duration > 600) fail("--duration: whole seconds in 1..600");
  if (!Number.isInteger(warmup) || warmup < 0 || warmup > 60) fail("--warmup: whole seconds in 0..60");
  const systems = v.systems.split(",").map((s) => s.trim()) as System[];
  for (const s of systems) if (!["catena", "nats", "etcd"].includes(s)) fail(`--systems: unknown system "${s}"`);
  const catenaSync = v["catena-sync"].split(",").map((s) => s.trim()) as CatenaSync[];
  for (const s of catenaSync) if (!["always", "none"].includes(s)) fail(`--catena-sync: "${s}" is not always or none`);
  const etcdApi = v["etcd-api"] as EtcdApi;
  if (!["grpc", "gateway"].includes(etcdApi)) fail(`--etcd-api: "${etcdApi}" is not grpc or gateway`);
  return { loads, sizes, duration, warmup, systems, catenaSync, etcdApi, build: !v["no-build"], json: v.json };
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

async function output(cmd: string[]): Promise<string> {
  try {
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
    const text = await new Response(p.stdout).text();
    await p.exited;
    return text.trim();
  } catch {
    return "";
  }
}

async function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const tmpDisk = ((await output(["df", "-h", "--output=source,fstype,size", process.env.TMPDIR ?? "/tmp"])).split("\n")[1] ?? "").trim().replace(/\s+/g, " ");
  return {
    nproc: cpus().length,
    cpu: model,
    memGiB: Math.round((Number(/MemTotal:\s*(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024 / 1024) * 10) / 10,
    tmpDisk,
    kernel: (await output(["uname", "-r"])) || "unknown",
    bun: Bun.version,
    catenaCommit: (await output(["git", "-C", join(import.meta.dir, "../.."), "rev-parse", "--short", "HEAD"])) || "unknown",
    catenaDirty: (await output(["git", "-C", join(import.meta.dir, "../.."), "status", "--porcelain", "--untracked-files=no"])) !== "",
    nats: existsSync(NATS_BIN) ? await natsVersion() : "not installed",
    etcd: existsSync(ETCD_BIN) ? await etcdVersion() : "not installed",
  };
}

function tailLogs(dir: string): void {
  try {
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".log"))) {
      const lines = readFileSync(join(dir, f), "utf8").trimEnd().split("\n").slice(-15);
      log(`--- ${f} (last lines) ---\n${lines.join("\n")}`);
    }
  } catch {
    // nothing to show
  }
}

async function measure(name: string, acks: string, shape: LoadShape, prefix: string, run: (dir: string) => Promise<Result>): Promise<Row> {
  const dir = makeTempDir(prefix);
  const row: Row = { system: name, acks, loadClients: shape.clients, loadInflight: shape.inflight, sizeBytes: shape.sizeBytes, result: null, error: null };
  try {
    row.result = await run(dir);
    const r = row.result;
    log(`  ${name}: ${r.appendsPerS} appends/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms${r.errors ? `, ${r.errors} errors (${r.firstError})` : ""}`);
  } catch (e) {
    row.error = (e as Error).message;
    log(`  ${name}: FAILED: ${row.error}`);
    tailLogs(dir);
    await stopAll();
  } finally {
    removeTempDir(dir);
  }
  await Bun.sleep(1000); // let the last run's writeback settle a little before the next
  return row;
}

const fmtInt = (n: number) => n.toLocaleString("en-US");
const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function table(rows: Row[]): string {
  const nats = rows.find((r) => r.system === "NATS JetStream R3")?.result?.appendsPerS;
  const head = "| system | acknowledged when | appends/s | × JetStream | MB/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors |";
  const sep = "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|";
  const lines = rows.map((r) => {
    if (!r.result) return `| ${r.system} | ${r.acks} | failed: ${r.error?.replaceAll("|", "/").slice(0, 120)} | | | | | | | | |`;
    const x = r.result;
    const l = x.latencyMs;
    const ratio = nats ? `${(x.appendsPerS / nats).toFixed(2)}×` : "–";
    return `| ${r.system} | ${r.acks} | ${fmtInt(x.appendsPerS)} | ${ratio} | ${x.mbPerS.toFixed(1)} | ${fmtMs(l.p50)} | ${fmtMs(l.p90)} | ${fmtMs(l.p99)} | ${fmtMs(l.p999)} | ${fmtMs(l.max)} | ${x.errors} |`;
  });
  return [head, sep, ...lines].join("\n");
}

async function main(): Promise<number> {
  const opts = parse();
  installSignalHandlers();
  if (opts.systems.includes("nats") && !existsSync(NATS_BIN)) fail(`${NATS_BIN} not found: apt-get install -y nats-server`);
  if (opts.systems.includes("etcd") && !existsSync(ETCD_BIN)) fail(`${ETCD_BIN} not found: apt-get install -y etcd-server`);
  if (opts.systems.includes("catena")) {
    if (opts.build) {
      log("building dist/catena (npm run build)");
      const b = Bun.spawn(["npm", "run", "build"], { cwd: join(import.meta.dir, "../.."), stdout: "ignore", stderr: "inherit" });
      if ((await b.exited) !== 0) throw new Error("npm run build failed");
    }
    if (!existsSync(CATENA_BIN)) fail(`${CATENA_BIN} not found: npm run build`);
  }
  const info = await machine();
  log(`machine: ${info.nproc} cores, ${info.cpu}, ${info.memGiB} GiB; tmp on ${info.tmpDisk}; bun ${info.bun}; ${info.nats}; ${info.etcd}; catena ${info.catenaCommit}${info.catenaDirty ? "+changes" : ""}`);

  const tables: { clients: number; inflight: number; sizeBytes: number; rows: Row[] }[] = [];
  for (const load of opts.loads) {
    for (const size of opts.sizes) {
      const shape: LoadShape = { clients: load.clients, inflight: load.inflight, sizeBytes: size, durationS: opts.duration, warmupS: opts.warmup };
      log(`\n${load.clients}×${load.inflight}, ${size} B, ${opts.duration} s (+${opts.warmup} s warm-up)`);
      const rows: Row[] = [];
      if (opts.systems.includes("catena")) {
        for (const sync of opts.catenaSync) {
          rows.push(await measure(`catena sync=${sync}`, sync === "always" ? ACKS.catenaAlways : ACKS.catenaNone, shape, `compare-catena-`, (dir) => runCatena(shape, sync, dir, log)));
        }
      }
      if (opts.systems.includes("nats")) rows.push(await measure("NATS JetStream R3", ACKS.nats, shape, "compare-nats-", (dir) => runNats(shape, dir, log)));
      if (opts.systems.includes("etcd")) rows.push(await measure("etcd (3 members)", ACKS.etcd, shape, "compare-etcd-", (dir) => runEtcd(shape, dir, log, opts.etcdApi)));
      tables.push({ clients: load.clients, inflight: load.inflight, sizeBytes: size, rows });
      if (!opts.json) console.log(`\n### ${load.clients} × ${load.inflight} in flight, ${size} B payloads, ${opts.duration} s\n\n${table(rows)}`);
    }
  }
  if (opts.json) {
    console.log(JSON.stringify({ machine: info, durationS: opts.duration, warmupS: opts.warmup, etcdApi: opts.etcdApi, tables }, null, 2));
  }
  const failed = tables.flatMap((t) => t.rows).filter((r) => r.error).length;
  return failed > 0 ? 1 : 0;
}

main()
  .then((code) => stopAll().then(() => process.exit(code)))
  .catch(async (e) => {
    console.error(`compare: ${(e as Error).message}`);
    await stopAll();
    process.exit(1);
  });
