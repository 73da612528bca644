// The newest cluster events that fit, oldest first, so the log reads downwards like a log file.
//
// Why not Ink's <Static>: it prints each event once, permanently, above the live area. On an
// 80×24 terminal the live area needs most of the screen, so the history would scroll away after a
// line or two, and every new event would push the whole frame down (the layout jumps). The TUI
// runs on the alternate screen with a fixed-height frame instead; the master keeps the history
// (GET /v1/cluster's events), and `catena status --json` prints it.

import { Box, Text } from "ink";
import type { ClusterEvent } from "../../src/client/cluster-document.ts";
import { clock, fit } from "../format.ts";
import { eventColor } from "./tone.ts";

export interface EventLogProps {
  events: ClusterEvent[];
  /** Lines available, the title included. */
  height: number;
}

export function EventLog({ events, height }: EventLogProps) {
  const room = Math.max(0, height - 1);
  const shown = room === 0 ? [] : events.slice(-room);
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text dimColor>EVENTS{events.length > shown.length ? ` (last ${shown.length} of ${events.length})` : ""}</Text>
      {shown.length === 0 ? <Text dimColor>none yet</Text> : null}
      {shown.map((e) => (
        <Text key={`${e.time} ${e.kind} ${e.message}`} wrap="truncate-end">
          <Text dimColor>{clock(e.time)} </Text>
          <Text color={eventColor(e.kind)}>{fit(e.kind, 12)} </Text>
          <Text>{e.message}</Text>
          {e.count && e.count > 1 ? <Text dimColor>{` (${e.count} times)`}</Text> : null}
        </Text>
      ))}
    </Box>
  );
}
