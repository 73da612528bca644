// A bare three-process chain on loopback, for comparison with catena: what the hardware and Bun
// allow with nothing else around the data path (no checksums, index, limits, dedup, metrics or
// client library). `bun scripts/bare-chain.ts [--clients 2] [--inflight 50] [--seconds 5]
// [--sync loop|none] [--file prefilled|paced|grow]` starts a head, a middle and a tail as child
// processes in a temporary directory, runs the load from this process and prints appends/s, the
// appends' latency and each node's fdatasync times. docs/benchmarks.md ("The bare chain") says
// what it shows.
//
// The data path is the one catena uses: the head gathers the appends of one event-loop turn into a
// batch, forwards it, writes it and fdatasyncs it on the event loop; the middle and tail forward,
// write and fdatasync the same way; DURABLE (the lowest fdatasynced end of the node and everything
// above it) goes down the chain; the tail acknowledges to each client the entries every node
// holds. `--file` is how each node's log file is prepared: prefilled (zeros written and synced
// before the load starts), paced (prefilled, and the next file zero-filled alongside the writes, as
// catena does for the segment after the current one), or grow (no preparation: every fdatasync
// also commits the file's new size).
//
// Frames: u32 length (whole frame), u8 type, body. APPEND (client → head): entries of 8 + 100
// bytes (u32 client, u32 request, payload). BATCH (head → middle → tail): the same entries.
// DURABLE: u32 end. ACK (tail → client): u32 count. WATCH (client → tail): u32 client, the
// connection that client's ACKs go to.

import fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Socket } from "bun";

const APPEND = 1, BATCH = 2, DURABLE = 3, ACK = 4, WATCH = 5;
const ENTRY_BYTES = 108;
const FILE_BYTES = 512 << 20;
const ZERO_CHUNK_BYTES = 64 << 10;
const ZERO_LEAD_BYTES = 8 << 20;

const { values: opts } = parseArgs({
  options: {
    role: { type: "string" }, dir: { type: "string" }, port: { type: "string", default: "47100" },
    clients: { type: "string", default: "2" }, inflight: { type: "string", default: "50" }, seconds: { type: "string", default: "5" },
    sync: { type: "string", default: "loop" }, file: { type: "string", default: "prefilled" },
  },
});
const basePort = Number(opts.port);

function frame(type: number, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(5 + body.length);
  new DataView(f.buffer).setUint32(0, f.length);
  f[4] = type;
  f.set(body, 5);
  return f;
}

function u32Frame(type: number, n: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, n);
  return frame(type, body);
}

function readU32(bytes: Uint8Array, at = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
}

/** Splits a byte stream into frames (copying only a frame split across chunks). */
function framer(onFrame: (type: number, body: Uint8Array) => void): (chunk: Uint8Array) => void {
  let rest = new Uint8Array(0);
  return (chunk) => {
    let bytes = chunk;
    if (rest.length > 0) {
      bytes = new Uint8Array(rest.length + chunk.length);
      bytes.set(rest);
      bytes.set(chunk, rest.length);
    }
    let pos = 0;
    while (bytes.length - pos >= 5) {
      const length = readU32(bytes, pos);
      if (bytes.length - pos < length) break;
      onFrame(bytes[pos + 4], bytes.subarray(pos + 5, pos + length));
      pos += length;
    }
    rest = bytes.slice(pos);
  };
}

/** Frames queued in one job leave in one socket write. */
class Outbox {
  private queue: Uint8Array[] = [];
  private scheduled = false;
  constructor(private readonly socket: Socket<unknown>) {}
  send(f: Uint8Array): void {
    this.queue.push(f);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }
  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    let total = 0;
    for (const f of this.queue) total += f.length;
    const all = new Uint8Array(total);
    let pos = 0;
    for (const f of this.queue) {
      all.set(f, pos);
      pos += f.length;
    }
    const written = this.socket.write(all);
    this.queue = written < all.length ? [all.subarray(Math.max(0, written))] : [];
  }
  drain(): void {
    this.flush();
  }
}

function listen(port: number, onFrame: (out: Outbox, type: number, body: Uint8Array) => void): void {
  Bun.listen<{ out: Outbox; push: (c: Uint8Array) => void }>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(s) {
        s.setNoDelay(true);
        const out = new Outbox(s as Socket<unknown>);
        s.data = { out, push: framer((t, b) => onFrame(out, t, b)) };
      },
      data: (s, chunk) => s.data.push(chunk),
      drain: (s) => s.data.out.drain(),
    },
  });
}

async function dial(port: number, onFrame: (type: number, body: Uint8Array) => void): Promise<Outbox> {
  const push = framer(onFrame);
  let out: Outbox | null = null;
  const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, chunk) => push(chunk), drain: () => out?.drain() } });
  s.setNoDelay(true);
  out = new Outbox(s as Socket<unknown>);
  return out;
}

/**
 * Prepares the log file as --file says. "paced" is what catena does at a steady state: the file
 * being written was zero-filled earlier, and the next one is zero-filled meanwhile, 64 KiB at a
 * time, each chunk fdatasynced, at most 8 MiB ahead of the writes; `wrote` moves that limit.
 */
function prepareFile(dir: string, role: string, mode: string): { fd: number; wrote(pos: number): void } {
  const fd = fs.openSync(join(dir, `${role}.log`), "w+");
  if (mode === "prefilled" || mode === "paced") {
    fs.writeSync(fd, new Uint8Array(FILE_BYTES), 0, FILE_BYTES, 0);
    fs.fdatasyncSync(fd);
  }
  if (mode !== "paced") return { fd, wrote() {} };
  const next = fs.openSync(join(dir, `${role}.next`), "w+");
  const zeros = new Uint8Array(ZERO_CHUNK_BYTES);
  let zeroed = 0;
  let logPos = 0;
  let running = false;
  const step = (): void => {
    if (zeroed >= logPos + ZERO_LEAD_BYTES) return void (running = false);
    running = true;
    fs.write(next, zeros, 0, ZERO_CHUNK_BYTES, zeroed, () => fs.fdatasync(next, () => {
      zeroed += ZERO_CHUNK_BYTES;
      setTimeout(step, 1);
    }));
  };
  step();
  return {
    fd,
    wrote(pos) {
      logPos = pos;
      if (!running) step();
    },
  };
}

async function runNode(role: "head" | "middle" | "tail", dir: string): Promise<void> {
  const index = { head: 0, middle: 1, tail: 2 }[role];
  const { fd, wrote } = prepareFile(dir, role, opts.file!);
  let writePos = 0, end = 0, synced = 0, durableSent = 0, committed = 0;
  let upstreamDurable = index === 0 ? Infinity : 0;
  let down: Outbox | null = null;
  const ackTo = new Map<number, Outbox>();
  const clientOf: number[] = [];
  const syncMs: number[] = [];

  const progress = (): void => {
    const durable = Math.min(synced, upstreamDurable);
    if (index < 2) {
      if (durable > durableSent && down) down.send(u32Frame(DURABLE, (durableSent = durable)));
      return;
    }
    if (durable <= committed) return;
    const counts = new Map<number, number>();
    for (let o = committed; o < durable; o++) counts.set(clientOf[o], (counts.get(clientOf[o]) ?? 0) + 1);
    committed = durable;
    for (const [client, n] of counts) ackTo.get(client)?.send(u32Frame(ACK, n));
  };
  let roundScheduled = false;
  const syncRound = (): void => {
    roundScheduled = false;
    if (opts.sync === "loop") {
      const started = performance.now();
      fs.fdatasyncSync(fd);
      syncMs.push(performance.now() - started);
    }
    synced = end;
    progress();
  };
  const store = (batch: Uint8Array, entries: Uint8Array): void => {
    if (down) {
      down.send(batch);
      down.flush(); // forward before the local write and fdatasync
    }
    fs.writeSync(fd, entries, 0, entries.length, writePos);
    writePos += entries.length;
    wrote(writePos);
    const n = entries.length / ENTRY_BYTES;
    if (index === 2) for (let i = 0; i < n; i++) clientOf[end + i] = readU32(entries, i * ENTRY_BYTES);
    end += n;
    if (!roundScheduled) {
      roundScheduled = true;
      queueMicrotask(syncRound);
    }
  };

  let gathered: Uint8Array[] = [];
  const writeGathered = (): void => {
    let total = 0;
    for (const g of gathered) total += g.length;
    const body = new Uint8Array(total);
    let pos = 0;
    for (const g of gathered) {
      body.set(g, pos);
      pos += g.length;
    }
    gathered = [];
    store(frame(BATCH, body), body);
  };
  listen(basePort + index, (out, type, body) => {
    if (type === APPEND) {
      if (gathered.length === 0) setImmediate(writeGathered);
      gathered.push(body.slice());
    } else if (type === BATCH) store(frame(BATCH, body), body);
    else if (type === DURABLE) {
      upstreamDurable = readU32(body);
      progress();
    } else if (type === WATCH) ackTo.set(readU32(body), out);
  });
  setInterval(() => {
    if (syncMs.length === 0) return;
    const sorted = syncMs.splice(0).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))].toFixed(3);
    console.log(JSON.stringify({ role, syncs: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99) }));
  }, 1000);
  if (index < 2) {
    for (let tries = 0; !down; tries++) {
      down = await dial(basePort + index + 1, () => {}).catch(async (e) => {
        if (tries > 100) throw e;
        await Bun.sleep(50);
        return null;
      });
    }
  }
  console.log(JSON.stringify({ role, ready: true }));
}

async function runLoad(): Promise<void> {
  const clients = Number(opts.clients), inflight = Number(opts.inflight), seconds = Number(opts.seconds);
  const dir = fs.mkdtempSync(join(tmpdir(), "bare-chain-"));
  const nodes = (["tail", "middle", "head"] as const).map((role) =>
    Bun.spawn([process.execPath, import.meta.path, "--role", role, "--dir", dir, ...process.argv.slice(2)], { stdout: "pipe", stderr: "inherit" }));
  const syncLines: string[] = [];
  try {
    await Promise.all(nodes.map(async (node) => {
      const reader = node.stdout.getReader();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error("a node exited before it was ready");
        text += new TextDecoder().decode(value);
        if (text.includes('"ready":true')) break;
      }
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          syncLines.push(...new TextDecoder().decode(value).split("\n").filter(Boolean));
        }
      })();
    }));
    let acked = 0, measuring = false;
    const latencies: number[] = [];
    const payload = new Uint8Array(100);
    for (let c = 0; c < clients; c++) {
      let requestId = 0;
      // Send times of the appends in flight, oldest first: the tail acknowledges them in order.
      const sentAt: number[] = [];
      let oldest = 0;
      const head = await dial(basePort, () => {});
      const send = (n: number): void => {
        const body = new Uint8Array(n * ENTRY_BYTES);
        const view = new DataView(body.buffer);
        for (let i = 0; i < n; i++) {
          view.setUint32(i * ENTRY_BYTES, c);
          view.setUint32(i * ENTRY_BYTES + 4, requestId++);
          body.set(payload, i * ENTRY_BYTES + 8);
        }
        head.send(frame(APPEND, body));
        const now = performance.now();
        for (let i = 0; i < n; i++) sentAt.push(now);
      };
      const tail = await dial(basePort + 2, (type, body) => {
        if (type !== ACK) return;
        const n = readU32(body);
        const now = performance.now();
        if (measuring) {
          acked += n;
          for (let i = 0; i < n; i++) latencies.push(now - sentAt[oldest + i]);
        }
        oldest += n;
        if (oldest > 1 << 16) {
          sentAt.splice(0, oldest);
          oldest = 0;
        }
        send(n);
      });
      tail.send(u32Frame(WATCH, c));
      await Bun.sleep(50);
      send(inflight);
    }
    await Bun.sleep(1000);
    measuring = true;
    syncLines.length = 0;
    const started = performance.now();
    await Bun.sleep(seconds * 1000);
    const rate = Math.round(acked / ((performance.now() - started) / 1000));
    latencies.sort((a, b) => a - b);
    const ms = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))].toFixed(3);
    console.log(`bare chain, ${clients} x ${inflight} in flight, sync ${opts.sync}, file ${opts.file}: ${rate} appends/s; latency ms p50 ${ms(0.5)}, p90 ${ms(0.9)}, p99 ${ms(0.99)}, p99.9 ${ms(0.999)}`);
    for (const role of ["head", "middle", "tail"]) {
      const lines = syncLines.map((l) => JSON.parse(l)).filter((l) => l.role === role && l.syncs);
      if (lines.length > 0) console.log(`  ${role} fdatasync ms per second of load (p50 / p90 / p99): ${lines.map((l) => `${l.p50}/${l.p90}/${l.p99}`).join("  ")}`);
    }
  } finally {
    for (const node of nodes) node.kill();
    await Promise.all(nodes.map((n) => n.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

if (opts.role) await runNode(opts.role as "head" | "middle" | "tail", opts.dir!);
else await runLoad();
