// The TUI's root: the reducer, the data hook, the input hook, and the frame that draws the state.

import { useReducer } from "react";
import { Screen } from "./components/screen.tsx";
import { defaultTiming, useClusterFeed, type FeedTiming } from "./hooks/use-cluster-feed.ts";
import { useKeys, type DemoControls } from "./hooks/use-keys.ts";
import { useTerminalSize } from "./hooks/use-terminal-size.ts";
import { initialState, reduce } from "./state.ts";

export interface AppProps {
  master: string;
  demo?: DemoControls;
  timing?: FeedTiming;
}

export function App({ master, demo, timing = defaultTiming }: AppProps) {
  const [state, dispatch] = useReducer(reduce, undefined, () => initialState(master, demo !== undefined, Date.now()));
  useClusterFeed(master, dispatch, timing);
  useKeys(state, dispatch, demo);
  const { columns, rows } = useTerminalSize();
  return <Screen state={state} columns={columns} rows={rows} retryMs={timing.retryMs} />;
}
