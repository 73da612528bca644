// The exclusive lock on a data directory (src/util/dir-lock.ts): a second holder is refused and
// told the first one's PID; the lock goes with its holder, even one killed with SIGKILL.

import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirLockHeld, LOCK_FILE_NAME, lockDir } from "../../src/util/dir-lock.ts";

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "catena-lock-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A child process that takes the lock, says so, and waits to be killed. */
function holdInChild(dir: string) {
  const script = `const { lockDir } = await import(${JSON.stringify(join(import.meta.dir, "../../src/util/dir-lock.ts"))}); lockDir(${JSON.stringify(dir)}, "test child"); console.log("locked"); setInterval(() => {}, 1000);`;
  return Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return new TextDecoder().decode(value).trim();
}

describe("lockDir", () => {
  test("the holder's PID and description are written into the lock file", () => {
    const dir = freshDir();
    const lock = lockDir(dir, "test");
    expect(readFileSync(join(dir, LOCK_FILE_NAME), "utf8")).toBe(`${process.pid} test\n`);
    lock.release();
  });

  test("a second lock on the same directory is refused, naming the holder's PID", () => {
    const dir = freshDir();
    const lock = lockDir(dir, "test");
    let refused: unknown = null;
    try {
      lockDir(dir, "test");
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(DirLockHeld);
    expect((refused as DirLockHeld).pid).toBe(process.pid);
    expect((refused as DirLockHeld).holder).toBe("test");
    expect((refused as DirLockHeld).dir).toBe(dir);
    lock.release();
    lockDir(dir, "test").release(); // free again once released
  });

  test("another process is refused while a process holds the lock, and not after it is killed", async () => {
    const dir = freshDir();
    const child = holdInChild(dir);
    try {
      expect(await firstLine(child.stdout)).toBe("locked");
      expect(() => lockDir(dir, "test")).toThrow(DirLockHeld);
      try {
        lockDir(dir, "test");
      } catch (e) {
        expect((e as DirLockHeld).pid).toBe(child.pid);
        expect((e as DirLockHeld).holder).toBe("test child");
      }
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
    // The kernel dropped the lock with the process: nothing stale is left to clean up.
    const lock = lockDir(dir, "test");
    expect(readFileSync(join(dir, LOCK_FILE_NAME), "utf8")).toBe(`${process.pid} test\n`);
    lock.release();
  });
});
