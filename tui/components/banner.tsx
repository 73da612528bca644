// The master cannot be reached: say so, say we keep trying, and never show a stack trace.

import { Text } from "ink";
import type { Link } from "../state.ts";
import { clock } from "../format.ts";

export interface BannerProps {
  master: string;
  link: Link;
  retryMs: number;
}

export function Banner({ master, link, retryMs }: BannerProps) {
  if (link.kind === "up") return null;
  if (link.kind === "connecting") {
    return <Text color="yellow" wrap="truncate-end">connecting to the master at {master}…</Text>;
  }
  const last = link.lastContact === null ? "never reached" : `last seen ${clock(link.lastContact)}`;
  return (
    <Text color="white" backgroundColor="red" wrap="truncate-end">
      {` master unreachable: ${link.reason} · retry ${link.attempts} every ${retryMs / 1000}s · ${last}`}
    </Text>
  );
}
