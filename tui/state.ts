// The TUI's state and its one reducer. Pure: every action carries its own time, so a test is a
// list of actions and the frames they render.
//
// `live` follows the master; `frozen` is what the screen shows while paused. Pausing keeps the
// feed running underneath, so resuming shows the present, with an unbroken sparkline.

import type { ClusterEvent, ClusterDocument, NodeStatus } from "../src/client/cluster-document.ts";
import { advance, emptyTrack, type Track } from "./metrics.ts";
import { orderNodes } from "./order.ts";

export type Link =
  | { kind: "connecting"; since: number }
  | { kind: "up" }
  | { kind: "down"; since: number; reason: string; attempts: number; lastContact: number | null };

/** The master's event stream: unknown until tried; "unsupported" when it has no /v1/events. */
export type StreamState = "connecting" | "live" | "unsupported" | "down";

export interface StatusEntry {
  at: number;
  status: NodeStatus | null;
  reason: string | null;
}

export interface Feed {
  link: Link;
  cluster: ClusterDocument | null;
  /** When `cluster` arrived. */
  polledAt: number;
  /** Time of the latest feed action (poll answered or failed). */
  now: number;
  lastContact: number | null;
  /** Per node: its log-end history for rates and sparklines. */
  tracks: Record<string, Track>;
  statuses: Record<string, StatusEntry>;
  events: ClusterEvent[];
  stream: StreamState;
}

export interface Notice {
  text: string;
  tone: "info" | "error";
  at: number;
}

export interface TuiState {
  master: string;
  demo: boolean;
  live: Feed;
  frozen: Feed | null;
  selected: string | null;
  details: boolean;
  load: boolean;
  notice: Notice | null;
}

export type Action =
  | { type: "cluster"; at: number; snapshot: ClusterDocument }
  | { type: "unreachable"; at: number; reason: string }
  | { type: "status"; at: number; nodeId: string; status: NodeStatus | null; reason: string | null }
  | { type: "event"; event: ClusterEvent }
  | { type: "stream"; stream: StreamState }
  | { type: "select"; delta: 1 | -1 }
  | { type: "details"; open: boolean }
  | { type: "pause" }
  | { type: "load"; on: boolean }
  | { type: "notice"; text: string; tone: Notice["tone"]; at: number };

/** Events kept for the log (the master keeps 100). */
export const eventsKept = 200;
/** A notice in the footer disappears after this long. */
export const noticeShownMs = 8000;

export function initialState(master: string, demo: boolean, now: number): TuiState {
  return {
    master,
    demo,
    live: { link: { kind: "connecting", since: now }, cluster: null, polledAt: now, now, lastContact: null, tracks: {}, statuses: {}, events: [], stream: "connecting" },
    frozen: null,
    selected: null,
    details: false,
    load: false,
    notice: null,
  };
}

/** What the screen shows: the frozen feed while paused, else the live one. */
export function shown(state: TuiState): Feed {
  return state.frozen ?? state.live;
}

export function reduce(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case "cluster":
    case "unreachable":
    case "status":
    case "event":
    case "stream": {
      const live = reduceFeed(state.live, action);
      if (live === state.live) return state;
      const selected = state.selected ?? (action.type === "cluster" ? (orderNodes(action.snapshot)[0]?.id ?? null) : null);
      return { ...state, live, selected };
    }
    case "select": {
      const ids = orderNodes(shown(state).cluster).map((n) => n.id);
      if (ids.length === 0) return state;
      const at = state.selected === null ? -1 : ids.indexOf(state.selected);
      const next = at < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, at + action.delta));
      return ids[next] === state.selected ? state : { ...state, selected: ids[next] };
    }
    case "details":
      return action.open === state.details ? state : { ...state, details: action.open };
    case "pause":
      return { ...state, frozen: state.frozen ? null : state.live };
    case "load":
      return action.on === state.load ? state : { ...state, load: action.on };
    case "notice":
      return { ...state, notice: { text: action.text, tone: action.tone, at: action.at } };
  }
}

type FeedAction = Extract<Action, { type: "cluster" | "unreachable" | "status" | "event" | "stream" }>;

function reduceFeed(feed: Feed, action: FeedAction): Feed {
  switch (action.type) {
    case "cluster": {
      const tracks: Record<string, Track> = {};
      for (const n of action.snapshot.nodes) tracks[n.id] = advance(feed.tracks[n.id] ?? emptyTrack, action.at, n.logEnd);
      return {
        ...feed,
        link: { kind: "up" },
        cluster: action.snapshot,
        polledAt: action.at,
        now: action.at,
        lastContact: action.at,
        tracks,
        events: mergeEvents(feed.events, action.snapshot.events),
      };
    }
    case "unreachable": {
      const attempts = feed.link.kind === "down" ? feed.link.attempts + 1 : 1;
      const since = feed.link.kind === "down" ? feed.link.since : action.at;
      return { ...feed, now: action.at, link: { kind: "down", since, reason: action.reason, attempts, lastContact: feed.lastContact } };
    }
    case "status":
      return { ...feed, statuses: { ...feed.statuses, [action.nodeId]: { at: action.at, status: action.status, reason: action.reason } } };
    case "event": {
      const events = mergeEvents(feed.events, [action.event]);
      return events === feed.events ? feed : { ...feed, events };
    }
    case "stream":
      return action.stream === feed.stream ? feed : { ...feed, stream: action.stream };
  }
}

const eventKey = (e: ClusterEvent) => `${e.time}\u0000${e.kind}\u0000${e.message}`;

/**
 * The same event may come twice — from the stream and from /v1/cluster's recent events — and is
 * shown once; a folded event that comes again with a higher count replaces its line. Returns
 * `known` itself when nothing is new.
 */
export function mergeEvents(known: ClusterEvent[], incoming: readonly ClusterEvent[]): ClusterEvent[] {
  const index = new Map(known.map((e, i) => [eventKey(e), i]));
  let merged = known;
  const fresh: ClusterEvent[] = [];
  for (const e of incoming) {
    const at = index.get(eventKey(e));
    if (at === undefined) {
      index.set(eventKey(e), -1);
      fresh.push(e);
    } else if (at >= 0 && (e.count ?? 1) > (merged[at].count ?? 1)) {
      // A folded event came again with a higher count: the same line, counted up.
      if (merged === known) merged = [...known];
      merged[at] = e;
    }
  }
  if (fresh.length === 0) return merged;
  const all = [...merged, ...fresh].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return all.slice(-eventsKept);
}
