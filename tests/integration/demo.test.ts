// `catena demo --no-tui`: starts a working three-node chain and stops it all on SIGTERM.

import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BINARY, runCli } from "../helpers/cluster.ts";

test("demo starts master, head, middle and tail, serves appends, and stops cleanly on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "catena-demo-test-"));
  const proc = Bun.spawn([BINARY, "demo", "--no-tui", "--dir", dir], { stdout: "pipe", stderr: "pipe" });
  try {
    const reader = proc.stdout.getReader();
    let text = "";
    const deadline = Date.now() + 30_000;
    while (!text.includes("Ctrl-C stops the cluster") && Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), Bun.sleep(30_000).then(() => null)]);
      if (!chunk || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    const master = /CATENA_MASTER=(\S+)/.exec(text)?.[1];
    expect(master).toBeDefined();
    const appended = await runCli(["append", "--json", "hello"], { env: { CATENA_MASTER: master! } });
    expect(appended.stdout).toBe('{"offset":0,"payload":"hello"}\n');
    // The commands it prints run as printed (the binary's own path, not a "catena" on PATH).
    const printed = /^\s+(\S+) read --from 0/m.exec(text)?.[1];
    expect(resolve(printed!)).toBe(BINARY);
    const read = Bun.spawnSync([printed!, "read", "--from", "0"], { env: { ...process.env, CATENA_MASTER: master! } });
    expect(read.stdout.toString()).toBe("0\thello\n");
    reader.releaseLock();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    const after = await fetch(`${master}/health`).then(() => "up", () => "down");
    expect(after).toBe("down");
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(["head", "middle", "tail", "master", "head.log"]));
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});
