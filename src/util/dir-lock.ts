// An exclusive lock on a data directory, so that two processes never write one master's state or
// one node's log. flock(2) on a file in the directory: the kernel drops the lock when the process
// ends, however it ends, so a kill -9 leaves nothing stale behind. The holder writes its PID into
// the file with what it is ("catena master"), for the message the next process prints.

import { dlopen, FFIType, read } from "bun:ffi";
import fs from "node:fs";
import { join } from "node:path";

export const LOCK_FILE_NAME = "catena.lock";

const LOCK_EX = 2;
const LOCK_NB = 4;
/** EWOULDBLOCK (= EAGAIN) on Linux and on macOS. */
const EWOULDBLOCK = process.platform === "darwin" ? 35 : 11;

/** Another process holds the lock; `pid` and `holder` are what it wrote into the lock file, if readable. */
export class DirLockHeld extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | null,
    readonly holder: string | null,
  ) {
    super(`${dir} is locked by another process${pid === null ? "" : ` (PID ${pid})`}`);
  }
}

export interface DirLock {
  readonly path: string;
  /** Unlocks and closes the file (tests; a server keeps its lock until it exits). */
  release(): void;
}

type Libc = { flock(fd: number, operation: number): number; errno(): number };
let libc: Libc | null = null;

function loadLibc(): Libc {
  if (libc) return libc;
  const lib = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    // The errno of the calling thread: glibc's name, then macOS's.
    [process.platform === "darwin" ? "__error" : "__errno_location"]: { args: [], returns: FFIType.ptr },
  });
  const errnoAt = (lib.symbols as Record<string, () => number | null>)[process.platform === "darwin" ? "__error" : "__errno_location"];
  libc = {
    flock: (fd, op) => lib.symbols.flock(fd, op) as number,
    errno: () => read.i32(errnoAt() as never, 0),
  };
  return libc;
}

/**
 * Takes the lock on `dir` (which must exist) for `holder` (e.g. "catena node") or throws
 * DirLockHeld. The file descriptor stays open until release(): closing it gives the lock up.
 */
export function lockDir(dir: string, holder: string): DirLock {
  const path = join(dir, LOCK_FILE_NAME);
  // Not truncated on open: until this process holds the lock, the PID inside is the holder's.
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  const { flock, errno } = loadLibc();
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const code = errno();
    fs.closeSync(fd);
    if (code !== EWOULDBLOCK) throw new Error(`${path}: cannot lock the file (flock failed with errno ${code}); the directory must be on a local file system`);
    throw new DirLockHeld(dir, ...readHolder(path));
  }
  writeHolder(fd, holder);
  return {
    path,
    release() {
      fs.closeSync(fd);
    },
  };
}

function writeHolder(fd: number, holder: string): void {
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, `${process.pid} ${holder}\n`, 0);
  } catch {
    // A full disk: the lock holds all the same; only the PID in the next process's message is lost.
  }
}

/** The PID and description in the lock file; nulls if it is empty (the holder's disk was full). */
function readHolder(path: string): [number | null, string | null] {
  try {
    const m = /^(\d+) (.+)\n$/.exec(fs.readFileSync(path, "utf8"));
    return m ? [Number(m[1]), m[2]] : [null, null];
  } catch {
    return [null, null];
  }
}
