// The node's two TCP listeners: clients (append, read, latest, subscribe) and the predecessor's
// replication stream. A malformed or unexpected frame gets an ERROR frame and that connection is
// closed; every other connection carries on, and nothing is written for it.

import { isSystemError } from "../log/options.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { PROTOCOL_VERSION } from "../protocol/frame.ts";
import {
  FrameType, PeerKind, decodeAppend, decodeChainOnly, decodeHello, decodeRead, decodeReplicate, decodeSubscribe, decodeWatchAcks, decodeWatermark,
  encodeError, encodeHelloOk, encodeOk,
} from "../protocol/messages.ts";
import type { TokenCheck } from "../security/token.ts";
import type { Connection, ConnectionHandler } from "../transport/connection.ts";
import type { Logger } from "../util/logger.ts";
import type { Replica, Subscription } from "./replica.ts";

export interface ReplicaLookup {
  replica(chainId: number): Replica;
  connectionClosed(conn: Connection): void;
  /** The connection has appends in flight or is registered for acknowledgements somewhere. */
  waitsForNode(conn: Connection): boolean;
}

interface ClientState {
  greeted: boolean;
  subscriptions: Map<number, { replica: Replica; sub: Subscription }>;
}

function clientState(conn: Connection): ClientState {
  if (!conn.state) conn.state = { greeted: false, subscriptions: new Map() } satisfies ClientState;
  return conn.state as ClientState;
}

/** Answers a failed request; closes the connection when the failure was a protocol violation. */
function refuse(conn: Connection, id: number, e: unknown, log: Logger, who: string): void {
  if (isSystemError(e)) {
    // The disk or the OS failed (a full disk, an I/O error): an operating error, said in one line.
    // The log reports it too; the stream closes, and the peer tries again once it can.
    log.warn("could not serve a request: the log could not write", { peer: who, error: e.message });
    conn.send(encodeError(id, new CatenaError(ErrorCode.unavailable, `this node could not write to its log: ${e.message}`)));
    conn.close();
    return;
  }
  const err = e instanceof CatenaError ? e : new CatenaError(ErrorCode.internal, (e as Error).message ?? String(e));
  if (!(e instanceof CatenaError)) log.error("internal error while serving a request", { peer: who, error: String((e as Error).stack ?? e) });
  conn.send(encodeError(id, err));
  const fatal = err.code === ErrorCode.badFrame || err.code === ErrorCode.unknownFrameType || err.code === ErrorCode.unsupportedVersion || err.code === ErrorCode.internal || err.code === ErrorCode.unauthorized;
  if (fatal) {
    log.warn("closing connection after a bad request", { peer: who, error: err.message });
    conn.close();
  }
}

/** Checks a HELLO: version, port, token. Nothing else on a connection is read before this passes. */
function checkHello(frame: Uint8Array, kind: number, tokens: TokenCheck) {
  const hello = decodeHello(frame);
  if (hello.version !== PROTOCOL_VERSION) throw new CatenaError(ErrorCode.unsupportedVersion, `protocol version ${hello.version} is not supported; this node speaks version ${PROTOCOL_VERSION}`);
  if (hello.kind !== kind) throw new CatenaError(ErrorCode.badFrame, `this port serves ${kind === PeerKind.client ? "clients" : "replication"}, not peer kind ${hello.kind}`);
  if (!tokens.accepts(hello.token)) {
    throw new CatenaError(ErrorCode.unauthorized, hello.token === "" ? `this port needs a token in HELLO (the ${kind === PeerKind.client ? "client" : "node"} token)` : "the token in HELLO is not valid here");
  }
  return hello;
}

/** Who may connect: the tokens HELLO must carry on each port. */
export interface PortAuth {
  client: TokenCheck;
  replication: TokenCheck;
}

export function clientHandler(nodes: ReplicaLookup, log: Logger, auth: PortAuth): ConnectionHandler {
  return {
    frame(conn, type, id, frame) {
      const state = clientState(conn);
      try {
        if (!state.greeted) {
          if (type !== FrameType.hello) throw new CatenaError(ErrorCode.badFrame, "the first frame on a connection must be HELLO");
          checkHello(frame, PeerKind.client, auth.client);
          state.greeted = true;
          conn.greeted = true;
          conn.send(encodeHelloOk(id, { version: PROTOCOL_VERSION, logEnd: 0, lastCrc: 0, commitEnd: 0, commitCrc: 0 }));
          return;
        }
        switch (type) {
          case FrameType.append: {
            const a = decodeAppend(frame);
            nodes.replica(a.chainId).append(conn, id, a);
            return;
          }
          case FrameType.read: {
            const q = decodeRead(frame);
            conn.send(nodes.replica(q.chainId).read(id, q));
            return;
          }
          case FrameType.latest:
            conn.send(nodes.replica(decodeChainOnly(frame)).latest(id));
            return;
          case FrameType.subscribe: {
            const s = decodeSubscribe(frame);
            if (state.subscriptions.has(id)) throw new CatenaError(ErrorCode.badFrame, `subscription id ${id} is already in use`);
            const replica = nodes.replica(s.chainId);
            state.subscriptions.set(id, { replica, sub: replica.subscribe(conn, id, s.from) });
            return;
          }
          case FrameType.watchAcks: {
            const w = decodeWatchAcks(frame);
            nodes.replica(w.chainId).watchAcks(conn, w.clientId);
            conn.send(encodeOk(id));
            return;
          }
          case FrameType.unsubscribe: {
            const entry = state.subscriptions.get(id);
            if (entry) entry.replica.unsubscribe(entry.sub);
            state.subscriptions.delete(id);
            return;
          }
          default:
            throw new CatenaError(ErrorCode.unknownFrameType, `unknown frame type ${type} on the client port`);
        }
      } catch (e) {
        refuse(conn, id, e, log, "client");
      }
    },
    failed(conn, problem, code) {
      log.warn("closing a client connection", { problem });
      if (code !== undefined) conn.send(encodeError(0, new CatenaError(code, problem)));
    },
    closed(conn) {
      nodes.connectionClosed(conn);
    },
    drained(conn) {
      for (const { replica, sub } of clientState(conn).subscriptions.values()) replica.feed(sub);
    },
    busy(conn) {
      const subs = clientState(conn).subscriptions;
      for (const [id, { sub }] of subs) if (sub.ended) subs.delete(id);
      return subs.size > 0 || nodes.waitsForNode(conn);
    },
  };
}

export function replicationHandler(nodes: ReplicaLookup, log: Logger, auth: PortAuth): ConnectionHandler {
  const replicaOf = (conn: Connection) => conn.state as Replica | undefined;
  return {
    frame(conn, type, id, frame) {
      try {
        const replica = replicaOf(conn);
        if (!replica) {
          if (type !== FrameType.hello) throw new CatenaError(ErrorCode.badFrame, "the first frame on a connection must be HELLO");
          const hello = checkHello(frame, PeerKind.replication, auth.replication);
          // Over TLS the certificate decides who the peer is: a valid certificate of node X can
          // only ever speak as X (and acceptUpstream takes X only as the current predecessor).
          if (conn.peerNames !== null && !conn.peerNames.includes(hello.nodeId)) {
            throw new CatenaError(ErrorCode.unauthorized, `HELLO says node ${JSON.stringify(hello.nodeId)} but the certificate names ${conn.peerNames.join(", ") || "nothing"}`);
          }
          const target = nodes.replica(hello.chainId);
          target.acceptUpstream(conn, id, hello);
          conn.state = target;
          conn.greeted = true;
          return;
        }
        if (type === FrameType.replicate) return replica.replicate(conn, frame, decodeReplicate(frame));
        if (type === FrameType.durable) {
          const d = decodeWatermark(frame);
          return replica.durableFromUpstream(conn, d.epoch, d.offset);
        }
        if (type === FrameType.commit) {
          // Down the chain only to a syncing node: the chain's commit end (see Downstream.announceCommit).
          const c = decodeWatermark(frame);
          if (c.chainId !== replica.chainId) throw new CatenaError(ErrorCode.badFrame, `COMMIT for chain ${c.chainId} on a stream of chain ${replica.chainId}`);
          return replica.commitFromUpstream(conn, c.epoch, c.offset);
        }
        if (type === FrameType.truncate) {
          const t = decodeWatermark(frame);
          replica.truncate(conn, t.epoch, t.offset).catch((e) => {
            refuse(conn, id, e, log, "predecessor");
            conn.close();
          });
          return;
        }
        throw new CatenaError(ErrorCode.unknownFrameType, `unknown frame type ${type} on the replication port`);
      } catch (e) {
        refuse(conn, id, e, log, "predecessor");
        // Any refused replication frame ends the stream: the predecessor reconnects and resends.
        conn.close();
      }
    },
    failed(conn, problem, code) {
      log.warn("closing a replication connection", { problem });
      if (code !== undefined) conn.send(encodeError(0, new CatenaError(code, problem)));
    },
    closed(conn) {
      replicaOf(conn)?.upstreamClosed(conn);
    },
    // The predecessor's stream is quiet whenever nobody appends: never idle once accepted.
    busy: (conn) => replicaOf(conn) !== undefined,
  };
}
