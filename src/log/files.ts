// File helpers for the log: names, whole-buffer reads and writes, zeroing, preallocation.
// Segments are preallocated by writing real zeros (not a sparse ftruncate) so that an fdatasync
// of an append flushes only data blocks, never block allocation or file size metadata — except
// while a node copies the log, which writes in large batches and skips the zeros (see Log).

import fs from "node:fs";
import path from "node:path";

const ZERO_CHUNK_BYTES = 1 << 20;
const ZEROS = new Uint8Array(ZERO_CHUNK_BYTES);
const OPEN_READ_WRITE = fs.constants.O_RDWR | fs.constants.O_CREAT;
const PREALLOC_SUFFIX = ".prealloc.tmp";

export function segmentPath(dir: string, base: number): string {
  return path.join(dir, `${String(base).padStart(20, "0")}.log`);
}

export function indexPath(dir: string, base: number): string {
  return path.join(dir, `${String(base).padStart(20, "0")}.index`);
}

/** The base offset named by a segment file name, or null for any other file. */
export function parseSegmentName(name: string): number | null {
  const match = /^(\d{20})\.log$/.exec(name);
  return match ? Number(match[1]) : null;
}

export function isPreallocName(name: string): boolean {
  return name.endsWith(PREALLOC_SUFFIX);
}

export function openReadWrite(file: string): number {
  return fs.openSync(file, OPEN_READ_WRITE);
}

/** fs.writeSync may write less than asked: loop until all of bytes[start, end) is at `pos`. */
export function writeAll(fd: number, bytes: Uint8Array, start: number, end: number, pos: number): void {
  while (start < end) {
    const written = fs.writeSync(fd, bytes, start, end - start, pos);
    start += written;
    pos += written;
  }
}

/** Reads up to `length` bytes at `pos` into out[at...]; fewer only at the end of the file. */
export function readAll(fd: number, out: Uint8Array, at: number, length: number, pos: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, at + done, length - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export function writeZeros(fd: number, from: number, to: number): void {
  for (let pos = from; pos < to; pos += ZERO_CHUNK_BYTES) {
    writeAll(fd, ZEROS, 0, Math.min(ZERO_CHUNK_BYTES, to - pos), pos);
  }
}

/**
 * Zeroes every non-zero chunk of the file in [from, to) and returns how far non-zero bytes reached
 * (`from` when there were none). Reading first keeps a clean tail from costing a full rewrite.
 */
export function zeroNonZero(fd: number, from: number, to: number): number {
  const chunk = new Uint8Array(ZERO_CHUNK_BYTES);
  let reach = from;
  for (let pos = from; pos < to; pos += ZERO_CHUNK_BYTES) {
    const n = readAll(fd, chunk, 0, Math.min(ZERO_CHUNK_BYTES, to - pos), pos);
    const last = lastNonZero(chunk, n);
    if (last < 0) continue;
    writeAll(fd, ZEROS, 0, n, pos);
    reach = pos + last + 1;
  }
  return reach;
}

function lastNonZero(bytes: Uint8Array, n: number): number {
  for (let i = n - 1; i >= 0; i--) if (bytes[i] !== 0) return i;
  return -1;
}

export interface PreparedFile {
  path: string;
  fd: number;
}

let preparedCount = 0;

function preallocName(dir: string): string {
  preparedCount++;
  return path.join(dir, `${process.pid}-${preparedCount}${PREALLOC_SUFFIX}`);
}

/**
 * Creates a file of `bytes` under a temporary name, data synced. Blocks. Zero-filled by default;
 * with `zeroFill` false it is only sized (sparse): half the disk writes, for a file that is about
 * to be filled in large batches anyway (a node copying the log), at the price of block allocation
 * in the fdatasyncs that follow.
 */
export function preallocateSync(dir: string, bytes: number, zeroFill = true): PreparedFile {
  const file = preallocName(dir);
  const fd = fs.openSync(file, OPEN_READ_WRITE | fs.constants.O_TRUNC);
  if (zeroFill) writeZeros(fd, 0, bytes);
  else fs.ftruncateSync(fd, bytes);
  fs.fdatasyncSync(fd);
  return { path: file, fd };
}

/**
 * How a background preallocation spreads its zeros over time. Written in one burst, the 64 MiB of
 * a segment and the fdatasync after them held the disk for tens of milliseconds, and every node of
 * a chain fills its next segment at the same offsets: the appends' fsyncs waited behind them (at
 * 2 × 50 the p99.9 latency was 14–16 ms, the max 70 ms). Paced, the zeros go in small chunks, each
 * synced at once, so an append's fsync waits behind one chunk at most (p99.9 6–7 ms, max 12 ms).
 */
export interface ZeroPacing {
  chunkBytes: number;
  /** Resolves when the next chunk may go: `done` bytes of the file are zeroed so far. Rejects to
   * give up (the log is closing, or wants sparse files now); the file is then removed. */
  next(done: number): Promise<void>;
}

/** Like preallocateSync, but every write and sync runs off the event loop, the zeros paced. */
export async function preallocate(dir: string, bytes: number, zeroFill: boolean, pacing: ZeroPacing): Promise<PreparedFile> {
  const file = preallocName(dir);
  const fd = await new Promise<number>((resolve, reject) => {
    fs.open(file, OPEN_READ_WRITE | fs.constants.O_TRUNC, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
  try {
    if (!zeroFill) {
      await new Promise<void>((resolve, reject) => fs.ftruncate(fd, bytes, (err) => (err ? reject(err) : resolve())));
      await fdatasyncAsync(fd);
    }
    for (let pos = 0; zeroFill && pos < bytes; pos += pacing.chunkBytes) {
      await pacing.next(pos);
      await writeZerosAsync(fd, pos, Math.min(pacing.chunkBytes, bytes - pos));
      await fdatasyncAsync(fd);
    }
  } catch (err) {
    discardPrepared({ path: file, fd });
    throw err;
  }
  return { path: file, fd };
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

async function writeZerosAsync(fd: number, pos: number, length: number): Promise<void> {
  let done = 0;
  while (done < length) {
    done += await new Promise<number>((resolve, reject) => {
      fs.write(fd, ZEROS, done, length - done, pos + done, (err, n) => (err ? reject(err) : resolve(n)));
    });
  }
}

export function discardPrepared(file: PreparedFile): void {
  fs.closeSync(file.fd);
  fs.rmSync(file.path, { force: true });
}
