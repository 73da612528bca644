// Process bookkeeping for the comparison: every server this script starts is recorded here by
// PID and stopped at the end, on error, and on Ctrl-C / SIGTERM — only those PIDs, nothing else.

import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface Started {
  name: string;
  proc: Subprocess;
  /** Also stop the processes it started (catena bench --local runs a master and 3 nodes). */
  tree: boolean;
}

const running = new Set<Started>();
const tempDirs = new Set<string>();

/** Starts `cmd` with its output in `logPath`; the process is stopped by `stopAll` / on exit. */
export function start(name: string, cmd: string[], logPath: string, opts: { cwd?: string; tree?: boolean; stdout?: "pipe"; env?: Record<string, string> } = {}): Started {
  const log = openSync(logPath, "a");
  const env = opts.env ? { ...process.env, ...opts.env } : undefined;
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: opts.stdout ?? log, stderr: log, cwd: opts.cwd, env });
  const s = { name, proc, tree: opts.tree ?? false };
  running.add(s);
  return s;
}

export function alive(s: Started): boolean {
  return s.proc.exitCode === null && s.proc.signalCode === null;
}

/** The PIDs of every live descendant of `pid` (from the parent PIDs in /proc/<pid>/stat). */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(e));
      parent.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`, for each given process (by its PID, and for `tree`
 * processes the PIDs of the processes they started). */
export async function stop(list: Started[], graceMs = 5000): Promise<void> {
  const children = new Map<Started, number[]>();
  for (const s of list) if (s.tree && alive(s)) children.set(s, descendants(s.proc.pid));
  for (const s of list) if (alive(s)) s.proc.kill("SIGTERM");
  for (const pids of children.values()) for (const pid of pids) signalPid(pid, "SIGTERM");
  let deadlinePassed = false;
  const deadline = Bun.sleep(graceMs).then(() => {
    deadlinePassed = true;
  });
  await Promise.all(
    list.map(async (s) => {
      const exited = await Promise.race([s.proc.exited.then(() => true), deadline.then(() => false)]);
      if (!exited && alive(s)) {
        s.proc.kill("SIGKILL");
        await s.proc.exited;
      }
      const kids = children.get(s) ?? [];
      while (kids.some(isAlive) && !deadlinePassed) await Bun.sleep(50);
      for (const pid of kids) if (isAlive(pid)) signalPid(pid, "SIGKILL");
      running.delete(s);
    }),
  );
}

export async function stopAll(): Promise<void> {
  await stop([...running]);
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function cleanupSync(): void {
  for (const s of running) {
    if (!alive(s)) continue;
    const kids = s.tree ? descendants(s.proc.pid) : [];
    s.proc.kill("SIGKILL");
    for (const pid of kids) signalPid(pid, "SIGKILL");
  }
  running.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

let installed = false;
/** On SIGINT / SIGTERM: stop what we started, remove temp dirs, exit 130 / 143. */
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  const onSignal = (sig: NodeJS.Signals, code: number) => {
    process.stderr.write(`\n${sig}: stopping the servers this script started\n`);
    stopAll()
      .catch(() => {})
      .finally(() => {
        cleanupSync();
        process.exit(code);
      });
  };
  process.on("SIGINT", () => onSignal("SIGINT", 130));
  process.on("SIGTERM", () => onSignal("SIGTERM", 143));
  process.on("exit", cleanupSync);
}

export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** `n` distinct free loopback ports. */
export function freePorts(n: number): number[] {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(freePort());
  return [...ports];
}

/** Polls `check` until it returns true, or throws `what` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, procs: Started[] = []): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    for (const p of procs) if (!alive(p)) throw new Error(`${what}: ${p.name} exited with ${p.proc.exitCode ?? p.proc.signalCode}`);
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${what} (after ${timeoutMs} ms${last ? `; last error: ${(last as Error).message}` : ""})`);
}

/** Rejects after `ms` unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]);
}
