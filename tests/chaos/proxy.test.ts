// The fault proxy does what the nemesis relies on: passes bytes in order, delays them, holds them
// while blackholed (and delivers them after), and cuts connections on reset.

import { afterAll, expect, test } from "bun:test";
import type { Socket } from "bun";
import { ProxyLink } from "./proxy.ts";

const echo = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s, d) => void s.write(d) } });
const link = new ProxyLink("test", { host: "127.0.0.1", port: echo.port });
afterAll(() => {
  link.stop();
  echo.stop(true);
});

async function dial(): Promise<{ socket: Socket<undefined>; received: () => string; closed: () => boolean }> {
  let text = "";
  let closed = false;
  const socket = await Bun.connect({ hostname: "127.0.0.1", port: link.port, socket: { data: (_s, d) => void (text += d.toString()), close: () => void (closed = true) } });
  return { socket, received: () => text, closed: () => closed };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!check() && performance.now() < end) await Bun.sleep(5);
}

test("passes bytes through, in order", async () => {
  const c = await dial();
  for (let i = 0; i < 100; i++) c.socket.write(`${i},`);
  await until(() => c.received().split(",").length > 100);
  expect(c.received()).toBe(Array.from({ length: 100 }, (_, i) => `${i},`).join(""));
  c.socket.end();
});

test("delay holds each chunk for the given time", async () => {
  const c = await dial();
  link.setMode({ kind: "delay", ms: 150 });
  const sent = performance.now();
  c.socket.write("x");
  await until(() => c.received() === "x");
  expect(performance.now() - sent).toBeGreaterThanOrEqual(140);
  link.setMode({ kind: "pass" });
  c.socket.end();
});

test("blackhole holds bytes and new connections until healed, then delivers them", async () => {
  const old = await dial();
  link.setMode({ kind: "blackhole" });
  const fresh = await dial();
  old.socket.write("a");
  fresh.socket.write("b");
  await Bun.sleep(200);
  expect(old.received() + fresh.received()).toBe("");
  link.setMode({ kind: "pass" });
  await until(() => old.received() === "a" && fresh.received() === "b");
  expect([old.received(), fresh.received()]).toEqual(["a", "b"]);
  old.socket.end();
  fresh.socket.end();
});

test("reset closes every connection", async () => {
  const c = await dial();
  c.socket.write("y");
  await until(() => c.received() === "y");
  link.reset();
  await until(() => c.closed());
  expect(c.closed()).toBe(true);
});
