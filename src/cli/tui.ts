// `catena tui`: the live terminal view of a running cluster.

import { UsageError, type Parsed } from "./args.ts";
import { clientOptions, untilSignal } from "./common.ts";

export async function runTui(p: Parsed): Promise<number> {
  const { master, token, ca } = clientOptions(p, "tui");
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    throw new UsageError("tui: stdin and stdout must be a terminal; for a one-off view run catena status");
  }
  // Loaded here, not at the top: every other command (master, node) starts without Ink and React.
  const { startTui } = await import("../../tui/start.tsx");
  const { setFeedCredentials } = await import("../../tui/feed.ts");
  setFeedCredentials({ token, ca });
  const tui = startTui({ master });
  await Promise.race([tui.exited, untilSignal()]);
  tui.close();
  await tui.exited;
  return 0;
}
