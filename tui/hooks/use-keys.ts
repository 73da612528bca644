// The input hook: a key press becomes a command from tui/keys.ts, and a command becomes a reducer
// action or, in demo mode, an act on the demo cluster whose outcome shows as a notice.

import { useApp, useInput, useStdin } from "ink";
import type { Dispatch } from "react";
import { reasonOf } from "../feed.ts";
import { commandFor, type Command } from "../keys.ts";
import type { Action, TuiState } from "../state.ts";

/** What `catena demo` lets the TUI do to its own cluster. */
export interface DemoControls {
  kill(nodeId: string): Promise<void> | void;
  restart(nodeId: string): Promise<void> | void;
  startLoad(): void;
  stopLoad(): void;
}

export function useKeys(state: TuiState, dispatch: Dispatch<Action>, demo: DemoControls | undefined, clock: () => number = Date.now): void {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const notice = (text: string, tone: "info" | "error" = "info") => dispatch({ type: "notice", text, tone, at: clock() });

  const act = (what: string, done: string, run: () => Promise<void> | void) => {
    notice(`${what}…`);
    Promise.resolve()
      .then(run)
      .then(
        () => notice(done),
        (e) => notice(`${what} failed: ${reasonOf(e)}`, "error"),
      );
  };

  const run = (command: Command) => {
    switch (command) {
      case "quit":
        return exit();
      case "up":
      case "down":
        return dispatch({ type: "select", delta: command === "up" ? -1 : 1 });
      case "details":
        return dispatch({ type: "details", open: !state.details });
      case "close":
        return dispatch({ type: "details", open: false });
      case "pause":
        return dispatch({ type: "pause" });
    }
    if (!demo) return;
    const id = state.selected;
    switch (command) {
      case "kill":
        if (id) act(`killing ${id}`, `killed ${id} (SIGKILL); r restarts it`, () => demo.kill(id));
        return;
      case "restart":
        if (id) act(`restarting ${id}`, `started ${id} again; it rejoins and catches up`, () => demo.restart(id));
        return;
      case "load":
        if (state.load) demo.stopLoad();
        else demo.startLoad();
        dispatch({ type: "load", on: !state.load });
        return notice(state.load ? "append load stopped" : "append load started");
    }
  };

  useInput(
    (input, key) => {
      const command = commandFor(input, key, demo !== undefined);
      if (command) run(command);
    },
    { isActive: isRawModeSupported },
  );
}
