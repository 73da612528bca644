// startTui: the TUI on this terminal, on the alternate screen (like less or top), so quitting
// gives the terminal back as it was.

import { render } from "ink";
import { App } from "./app.tsx";
import type { FeedTiming } from "./hooks/use-cluster-feed.ts";
import type { DemoControls } from "./hooks/use-keys.ts";
import { overwritingStdout } from "./overwrite.ts";

export type { DemoControls } from "./hooks/use-keys.ts";

export interface TuiOptions {
  /** The master's URL, e.g. http://127.0.0.1:7100. */
  master: string;
  /** In `catena demo`: keys that kill and restart nodes and run an append load. */
  demo?: DemoControls;
  timing?: FeedTiming;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

export interface TuiHandle {
  /** Resolves when the user quits (q or Ctrl-C) or close() is called. */
  readonly exited: Promise<void>;
  close(): void;
}

const enterAltScreen = "\x1b[?1049h\x1b[H";
const leaveAltScreen = "\x1b[?1049l";

export function startTui(options: TuiOptions): TuiHandle {
  const stdout = options.stdout ?? process.stdout;
  const alt = stdout.isTTY === true;
  if (alt) stdout.write(enterAltScreen);
  const instance = render(<App master={options.master} demo={options.demo} timing={options.timing} />, {
    stdout: alt ? overwritingStdout(stdout) : stdout,
    stdin: options.stdin ?? process.stdin,
    exitOnCtrlC: true,
    patchConsole: true,
    // No flicker at 10 updates a second: Ink writes a frame only when its text changed, in one
    // write within synchronized-update escapes, and overwritingStdout draws it over the last one.
    maxFps: 20,
  });
  const exited = instance.waitUntilExit().then(
    () => {},
    () => {},
  ).finally(() => {
    if (alt) stdout.write(leaveAltScreen);
  });
  return { exited, close: () => instance.unmount() };
}
