// The top line: which master, whether events stream in, paused or live.

import { Box, Text } from "ink";
import type { Feed } from "../state.ts";
import { clock } from "../format.ts";

export interface HeaderProps {
  master: string;
  feed: Feed;
  paused: boolean;
  load: boolean;
}

export function Header({ master, feed, paused, load }: HeaderProps) {
  const events = feed.stream === "live" ? "streamed" : "polled";
  return (
    <Box justifyContent="space-between">
      <Text wrap="truncate-end">
        <Text bold color="cyan">catena</Text>
        <Text> master {master.replace(/^https?:\/\//, "")}</Text>
        <Text dimColor> · events {events}</Text>
        {load ? <Text color="magenta"> · load on</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        {paused ? <Text inverse color="yellow"> PAUSED </Text> : <Text color={feed.link.kind === "up" ? "green" : "red"}>●</Text>}
        <Text> {clock(feed.now)}</Text>
      </Text>
    </Box>
  );
}
