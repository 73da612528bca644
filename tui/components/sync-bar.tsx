// A syncing node's catch-up: how far, how fast, how long still.

import { Text } from "ink";
import { bytes, count, duration, fit, perSecond } from "../format.ts";
import type { SyncProgress } from "../model.ts";

export interface SyncBarProps {
  nodeId: string;
  sync: SyncProgress;
  columns: number;
}

export function SyncBar({ nodeId, sync, columns }: SyncBarProps) {
  const speed = sync.bytesPerSec !== null ? `${bytes(sync.bytesPerSec)}/s` : `${perSecond(sync.entriesPerSec)} e/s`;
  const percent = `${Math.floor(sync.fraction * 100)}%`.padStart(4);
  const tail = ` ${percent} ${speed.padStart(8)} ${fit(`${duration(sync.secondsLeft)} left`, 10, "right")}  ${count(sync.done)}/${count(sync.target)}`;
  const head = `  ${fit(nodeId, 7)} syncing `;
  const barWidth = Math.max(5, columns - head.length - tail.length - 3);
  const filled = Math.round(sync.fraction * barWidth);
  return (
    <Text wrap="truncate-end">
      <Text color="yellow">{head}</Text>
      <Text>▕</Text>
      <Text color="yellow">{"█".repeat(filled)}</Text>
      <Text dimColor>{"░".repeat(barWidth - filled)}</Text>
      <Text>▏</Text>
      <Text>{tail}</Text>
    </Text>
  );
}
