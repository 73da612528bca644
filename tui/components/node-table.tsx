// One line per node: role, state, log end, commit end, lag behind the head (entries and bytes),
// append rate with its last minute as a sparkline, heartbeat age.

import { Box, Text } from "ink";
import { age, bytes, count, fit, perSecond } from "../format.ts";
import type { NodeRow } from "../model.ts";
import { toneColor } from "./tone.ts";

/** Widths of every column but the sparkline, which takes what is left of the line. */
const W = { mark: 2, node: 8, role: 8, state: 7, logEnd: 8, commit: 8, lag: 7, lagBytes: 7, rate: 7, gap: 1, heartbeat: 6 };
const fixedWidth = Object.values(W).reduce((a, b) => a + b, 0);
export const sparkWidthMin = 4;
export const sparkWidthMax = 60;

/** Columns left for the sparkline on a terminal this wide (one spare, so no line wraps); 0 hides it. */
export function sparkWidthFor(columns: number): number {
  const room = Math.min(sparkWidthMax, columns - fixedWidth - 1);
  return room < sparkWidthMin ? 0 : room;
}

const roleName = (role: string) => (role === "head+tail" ? "h+tail" : role);

export interface NodeTableProps {
  rows: NodeRow[];
  selected: string | null;
  sparkWidth: number;
  stale: boolean;
  /** At most this many node lines; the window follows the selection. */
  height: number;
}

export function NodeTable({ rows, selected, sparkWidth, stale, height }: NodeTableProps) {
  const at = Math.max(0, rows.findIndex((r) => r.node.id === selected));
  const first = Math.max(0, Math.min(at - Math.floor(height / 2), rows.length - height));
  const visible = rows.slice(first, first + Math.max(1, height));
  return (
    <Box flexDirection="column">
      <Text dimColor wrap="truncate-end">
        {" ".repeat(W.mark) + fit("NODE", W.node) + fit("ROLE", W.role) + fit("STATE", W.state) + fit("LOG END", W.logEnd, "right") +
          fit("COMMIT", W.commit, "right") + fit("LAG", W.lag, "right") + fit("BYTES", W.lagBytes, "right") + fit("RATE/s", W.rate, "right") +
          " ".repeat(W.gap) + (sparkWidth === 0 ? "" : fit(sparkWidth >= 12 ? "LAST MINUTE" : "LAST MIN", sparkWidth)) + fit("HB", W.heartbeat, "right")}
      </Text>
      {visible.map((row) => (
        <NodeLine key={row.node.id} row={row} selected={row.node.id === selected} sparkWidth={sparkWidth} stale={stale} />
      ))}
    </Box>
  );
}

function NodeLine({ row, selected, sparkWidth, stale }: { row: NodeRow; selected: boolean; sparkWidth: number; stale: boolean }) {
  const n = row.node;
  const color = toneColor[row.tone];
  return (
    <Text wrap="truncate-end" dimColor={stale}>
      <Text color="cyan">{selected ? "› " : "  "}</Text>
      <Text bold={selected} inverse={selected}>{fit(n.id, W.node - 1)}</Text>
      <Text>{" " + fit(roleName(n.role), W.role - 1) + " "}</Text>
      <Text color={color} bold={row.tone !== "ok"}>{fit(n.state, W.state)}</Text>
      <Text>{fit(count(n.logEnd), W.logEnd, "right") + fit(count(n.commitEnd), W.commit, "right")}</Text>
      <Text color={row.lagEntries ? "yellow" : undefined}>{fit(count(row.lagEntries), W.lag, "right") + fit(bytes(row.lagBytes), W.lagBytes, "right")}</Text>
      <Text>{fit(perSecond(row.rate), W.rate, "right") + " ".repeat(W.gap)}</Text>
      {sparkWidth > 0 ? <Text color="cyan">{fit(row.spark, sparkWidth)}</Text> : null}
      <Text color={row.tone === "bad" ? "red" : undefined}>{fit(age(n.heartbeatAgeMs), W.heartbeat, "right")}</Text>
    </Text>
  );
}
