// A chain drawn head → … → tail (then the node syncing to join it), each node coloured by its
// state, with the chain's epoch.

import { Text } from "ink";
import { Fragment } from "react";
import type { ChainInfo, NodeInfo } from "../../src/client/cluster-document.ts";
import { toneOf } from "../model.ts";
import { toneColor } from "./tone.ts";

export interface ChainLineProps {
  chain: ChainInfo;
  nodes: NodeInfo[];
}

export function ChainLine({ chain, nodes }: ChainLineProps) {
  const stateOf = (id: string) => nodes.find((n) => n.id === id)?.state ?? "unknown";
  return (
    <Text wrap="truncate-end">
      <Text bold>chain {chain.chainId}</Text>
      <Text> epoch </Text>
      <Text bold color="cyan">{chain.epoch}</Text>
      <Text>{"  "}</Text>
      {chain.members.length === 0 ? <Text dimColor>(no members yet)</Text> : null}
      {chain.members.map((id, i) => (
        <Fragment key={id}>
          {i > 0 ? <Text dimColor> ━▶ </Text> : null}
          <Text color={toneColor[toneOf(stateOf(id))]}>{id}</Text>
        </Fragment>
      ))}
      {chain.syncing ? (
        <>
          <Text dimColor> ┄▶ </Text>
          <Text color="yellow">{chain.syncing}</Text>
          <Text dimColor> (syncing)</Text>
        </>
      ) : null}
      {chain.waitingFor ? <Text color="red"> · unavailable: waiting for {chain.waitingFor} to return</Text> : null}
    </Text>
  );
}
