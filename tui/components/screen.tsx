// The whole frame, laid out to the terminal: never taller than rows − 1 (a frame as tall as the
// terminal makes Ink clear the screen on every update), the event log or the details pane taking
// whatever height is left, so the footer stays put and the frame does not jump.

import { Box, Text } from "ink";
import { nodeRows } from "../model.ts";
import { noticeShownMs, shown, type TuiState } from "../state.ts";
import { Banner } from "./banner.tsx";
import { ChainLine } from "./chain-line.tsx";
import { Details } from "./details.tsx";
import { EventLog } from "./event-log.tsx";
import { Footer } from "./footer.tsx";
import { Header } from "./header.tsx";
import { NodeTable, sparkWidthFor } from "./node-table.tsx";
import { SyncBar } from "./sync-bar.tsx";

export interface ScreenProps {
  state: TuiState;
  columns: number;
  rows: number;
  retryMs: number;
}

export function Screen({ state, columns, rows, retryMs }: ScreenProps) {
  const feed = shown(state);
  const height = Math.max(8, rows - 1);
  const sparkWidth = sparkWidthFor(columns);
  const all = nodeRows(feed, sparkWidth);
  const syncing = all.filter((r) => r.sync !== null);
  const chains = feed.cluster?.chains ?? [];
  const notice = state.notice && state.live.now - state.notice.at <= noticeShownMs ? state.notice : null;

  const banner = feed.link.kind === "up" ? 0 : 1;
  const chainLines = Math.max(1, chains.length);
  // header, banner, chains, blank, table title, [nodes], [sync bars], blank, [log], notice, keys
  const fixed = 1 + banner + chainLines + 1 + 1 + 1 + 2;
  const tableHeight = Math.max(1, Math.min(all.length, height - fixed - syncing.length - 2));
  const syncShown = syncing.slice(0, Math.max(0, height - fixed - tableHeight - 2));
  const rest = Math.max(0, height - fixed - tableHeight - syncShown.length);
  const selected = all.find((r) => r.node.id === state.selected) ?? null;

  return (
    <Box flexDirection="column" width={columns} height={height} overflow="hidden">
      <Header master={state.master} feed={feed} paused={state.frozen !== null} load={state.load} />
      <Banner master={state.master} link={feed.link} retryMs={retryMs} />
      {chains.length === 0 ? <Text dimColor>{feed.cluster ? "no chains yet" : "waiting for the master…"}</Text> : null}
      {chains.map((c) => (
        <ChainLine key={c.chainId} chain={c} nodes={feed.cluster?.nodes ?? []} />
      ))}
      <Text> </Text>
      {all.length === 0 ? (
        <Text dimColor>{feed.cluster ? "no nodes have joined yet" : " "}</Text>
      ) : (
        <NodeTable rows={all} selected={state.selected} sparkWidth={sparkWidth} stale={feed.link.kind === "down"} height={tableHeight} />
      )}
      {syncShown.map((r) => (
        <SyncBar key={r.node.id} nodeId={r.node.id} sync={r.sync!} columns={columns} />
      ))}
      <Text> </Text>
      <Box flexGrow={1} flexDirection="column">
        {state.details ? <Details row={selected} status={selected ? feed.statuses[selected.node.id] : undefined} height={rest} /> : <EventLog events={feed.events} height={rest} />}
      </Box>
      <Footer demo={state.demo} help={{ paused: state.frozen !== null, details: state.details, load: state.load }} notice={notice} />
    </Box>
  );
}
