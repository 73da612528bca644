// Everything about the selected node: its addresses from the master, and from its own
// /v1/status its data directory, sync policy, segments and bytes.

import { Box, Text } from "ink";
import { age, bytes, count } from "../format.ts";
import type { NodeRow } from "../model.ts";
import type { StatusEntry } from "../state.ts";
import { toneColor } from "./tone.ts";

export interface DetailsProps {
  row: NodeRow | null;
  status: StatusEntry | undefined;
  height: number;
}

export function Details({ row, status, height }: DetailsProps) {
  if (!row) {
    return (
      <Box height={height}>
        <Text dimColor>no node selected</Text>
      </Box>
    );
  }
  const n = row.node;
  const s = status?.status ?? null;
  const c = s ? (s.chains.find((x) => x.chainId === n.chainId) ?? s.chains[0] ?? null) : null;
  const lines: [string, string][] = [
    ["client", n.clientAddr || "-"],
    ["replicate", n.replicationAddr || "-"],
    ["admin", n.adminAddr || "-"],
    ["data dir", s?.dataDir ?? "-"],
    ["sync", s?.sync ?? "-"],
    ["log", c ? `start ${count(c.startOffset)} · end ${count(c.logEnd)} · durable ${count(c.durableEnd)} · commit ${count(c.commitEnd)}` : "-"],
    ["segments", c ? `${count(c.segments)} · ${bytes(c.bytes)} · ${count(c.appends)} appends since start` : "-"],
    ["process", s ? `up ${age(s.uptimeMs)} · master contact ${age(s.lastMasterContactMs)} ago` : "-"],
  ];
  const unavailable = status && !status.status ? `/v1/status unavailable: ${status.reason ?? "no answer"}` : !status ? "asking the node…" : null;
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text wrap="truncate-end">
        <Text bold>{n.id}</Text>
        <Text> {n.role} · </Text>
        <Text color={toneColor[row.tone]}>{n.state}</Text>
        <Text dimColor> · chain {n.chainId ?? "-"} · enter or esc closes</Text>
      </Text>
      {unavailable ? <Text color={status ? "red" : undefined} dimColor={!status} wrap="truncate-end">{unavailable}</Text> : null}
      {lines.map(([k, v]) => (
        <Text key={k} wrap="truncate-end">
          <Text dimColor>{k.padEnd(10)}</Text>
          {v}
        </Text>
      ))}
    </Box>
  );
}
