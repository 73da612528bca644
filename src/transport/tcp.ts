// Bun.listen / Bun.connect adapters that hand each socket to a Connection, with TLS (checked here,
// explicitly: Bun's handshake callback has reported success for certificates it did not verify),
// a cap on open connections, and a sweep that closes connections that never say HELLO, go idle,
// or trickle a frame in too slowly.

import type { Socket, TCPSocketListener } from "bun";
import type { Address } from "../config/index.ts";
import { namesOf } from "../config/security.ts";
import { CatenaError, ErrorCode } from "../protocol/errors.ts";
import { encodeError } from "../protocol/messages.ts";
import { Connection, type ConnectionHandler, type ConnectionLimits } from "./connection.ts";

interface SocketData {
  conn: Connection | null;
}

/** PEM text. */
export interface ServerTls {
  cert: string;
  key: string;
  /** Client certificates must chain to this CA; null: none are asked for. */
  ca: string | null;
}

export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
  /** The name the server's certificate must carry (a node id); default: the host dialled. */
  serverName?: string;
}

export interface ListenerLimits extends ConnectionLimits {
  connectionsMax?: number;
  handshakeTimeoutMs?: number;
  idleTimeoutMs?: number;
  frameTimeoutMs?: number;
  writeTimeoutMs?: number;
}

/** Counts of what the listener turned away, by reason (for /metrics). */
export interface ListenerStats {
  accepted: number;
  refusedFull: number;
  refusedTls: number;
  timedOutHandshake: number;
  timedOutIdle: number;
  timedOutFrame: number;
  timedOutWrite: number;
}

export interface Listener {
  readonly port: number;
  /** Connections open now. */
  readonly connectionCount: number;
  readonly stats: Readonly<ListenerStats>;
  stop(): void;
}

interface Tracked {
  openedAt: number;
  lastActive: number;
  framesSeen: number;
  midFrameSince: number;
  writtenSeen: number;
  /** When the outgoing queue last moved (or became non-empty). */
  writeProgressAt: number;
}

/** The peer certificate's DNS names and CN. */
export function peerCertificateNames(socket: Socket<unknown>): string[] {
  const cert = socket.getPeerCertificate();
  if (!cert) return [];
  const cn = cert.subject?.CN;
  return namesOf(cert.subjectaltname, typeof cn === "string" ? cn : undefined);
}

function refuseWith(socket: Socket<unknown>, code: number, message: string): void {
  socket.write(encodeError(0, new CatenaError(code, message)));
  socket.end();
}

/** Listens on `addr`; `accept` gives each new connection its handler. */
export function listen(addr: Address, limits: ListenerLimits, accept: (conn: Connection) => void, handler: ConnectionHandler, tls?: ServerTls): Listener {
  const open = new Map<Connection, Tracked>();
  const stats: ListenerStats = { accepted: 0, refusedFull: 0, refusedTls: 0, timedOutHandshake: 0, timedOutIdle: 0, timedOutFrame: 0, timedOutWrite: 0 };
  let pendingTls = 0;
  const connectionsMax = limits.connectionsMax ?? Infinity;

  const start = (socket: Socket<SocketData>, openedAt: number): void => {
    socket.setNoDelay(true);
    const conn = new Connection(socket as Socket<unknown>, limits, handler);
    if (tls) conn.peerNames = peerCertificateNames(socket as Socket<unknown>);
    socket.data = { conn };
    const now = performance.now();
    open.set(conn, { openedAt, lastActive: now, framesSeen: 0, midFrameSince: 0, writtenSeen: 0, writeProgressAt: now });
    stats.accepted++;
    accept(conn);
  };

  const server: TCPSocketListener<SocketData> = Bun.listen<SocketData>({
    hostname: addr.host,
    port: addr.port,
    ...(tls ? { tls: { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) } } : {}),
    socket: {
      open(socket) {
        if (open.size + pendingTls >= connectionsMax) {
          stats.refusedFull++;
          // Plain TCP can be told why; a TLS socket has no session yet to carry the words.
          if (tls) return void socket.terminate();
          return refuseWith(socket as Socket<unknown>, ErrorCode.overloaded, `this listener already has ${connectionsMax} connections (limits.connections_max)`);
        }
        if (!tls) return start(socket, performance.now());
        // With a handshake handler, open comes at accept and the TLS handshake follows; a peer
        // that never completes it is cut off by the sweep like one that never says HELLO.
        pendingTls++;
        socket.data = { conn: null };
        handshakes.set(socket, performance.now());
      },
      handshake(socket) {
        const openedAt = handshakes.get(socket);
        if (openedAt === undefined) return;
        handshakes.delete(socket);
        pendingTls--;
        // Checked here and not left to rejectUnauthorized alone (see the top of this file).
        if (tls?.ca && !socket.authorized) {
          stats.refusedTls++;
          return void socket.terminate();
        }
        start(socket, openedAt);
      },
      data(socket, chunk) {
        const conn = socket.data?.conn;
        if (conn) conn.received(chunk);
        else socket.terminate();
      },
      drain(socket) {
        socket.data?.conn?.drain();
      },
      close: gone,
      error: gone,
    },
  });
  const handshakes = new Map<Socket<SocketData>, number>();
  function gone(socket: Socket<SocketData>): void {
    if (handshakes.delete(socket)) pendingTls--;
    const conn = socket.data?.conn;
    if (conn) {
      open.delete(conn);
      conn.socketClosed();
    }
  }

  const sweepMs = Math.max(10, Math.min(1000, ...[limits.handshakeTimeoutMs, limits.idleTimeoutMs, limits.frameTimeoutMs, limits.writeTimeoutMs].filter((v): v is number => v !== undefined).map((v) => v / 4)));
  const sweeper = setInterval(() => {
    const now = performance.now();
    if (limits.handshakeTimeoutMs !== undefined) {
      for (const [socket, openedAt] of handshakes) {
        if (now - openedAt > limits.handshakeTimeoutMs) {
          handshakes.delete(socket);
          pendingTls--;
          stats.timedOutHandshake++;
          socket.terminate();
        }
      }
    }
    for (const [conn, t] of open) {
      if (!conn.isOpen) continue;
      const active = conn.framesReceived !== t.framesSeen;
      if (active) {
        t.framesSeen = conn.framesReceived;
        t.lastActive = now;
      }
      if (conn.queuedBytes === 0 || conn.bytesWritten !== t.writtenSeen) {
        t.writtenSeen = conn.bytesWritten;
        t.writeProgressAt = now;
      }
      if (conn.midFrame) {
        if (t.midFrameSince === 0 || active) t.midFrameSince = now;
      } else t.midFrameSince = 0;
      const closeFor = (code: number, message: string) => {
        handler.failed(conn, message, code);
        conn.close();
      };
      if (!conn.greeted && limits.handshakeTimeoutMs !== undefined && now - t.openedAt > limits.handshakeTimeoutMs) {
        stats.timedOutHandshake++;
        closeFor(ErrorCode.timedOut, `no HELLO within ${limits.handshakeTimeoutMs} ms of connecting (limits.handshake_timeout_ms)`);
      } else if (t.midFrameSince !== 0 && limits.frameTimeoutMs !== undefined && now - t.midFrameSince > limits.frameTimeoutMs) {
        stats.timedOutFrame++;
        closeFor(ErrorCode.timedOut, `a frame took more than ${limits.frameTimeoutMs} ms to arrive (limits.frame_timeout_ms)`);
      } else if (limits.writeTimeoutMs !== undefined && now - t.writeProgressAt > limits.writeTimeoutMs) {
        // A subscriber that stopped reading holds only its bounded queue (feeds pause when it is
        // half full), but it is cut off rather than left holding a connection and a position.
        stats.timedOutWrite++;
        closeFor(ErrorCode.overloaded, `the peer has read nothing of what it was sent for ${limits.writeTimeoutMs} ms (limits.write_timeout_ms)`);
      } else if (limits.idleTimeoutMs !== undefined && now - t.lastActive > limits.idleTimeoutMs && !conn.isBusy) {
        stats.timedOutIdle++;
        closeFor(ErrorCode.timedOut, `idle for ${limits.idleTimeoutMs} ms (limits.idle_timeout_ms)`);
      }
    }
  }, sweepMs);
  sweeper.unref?.();

  return {
    get port() {
      return server.port;
    },
    get connectionCount() {
      return open.size;
    },
    stats,
    stop() {
      clearInterval(sweeper);
      server.stop(true);
    },
  };
}

/** Connects to `addr`. Rejects with a plain error if the peer cannot be reached within
 * `timeoutMs` (a blackholed address would otherwise hold the caller for the kernel's ~2 minutes),
 * or, over TLS, does not present a certificate from `tls.ca` carrying `tls.serverName`. */
export async function connect(addr: Address, limits: ConnectionLimits, handler: ConnectionHandler, tls?: ClientTls, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Connection> {
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = connectOnce(addr, limits, handler, tls, performance.now() + timeoutMs);
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no connection to ${addr.host}:${addr.port} within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  // A connection that arrives after the deadline is closed: nobody is waiting for it any more.
  attempt.then((conn) => timedOut && conn.destroy(), () => {});
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function connectOnce(addr: Address, limits: ConnectionLimits, handler: ConnectionHandler, tls: ClientTls | undefined, deadline: number): Promise<Connection> {
  const data: SocketData = { conn: null };
  // Bun.connect can resolve before the TLS handshake has settled `authorized`: wait for it.
  const handshake = Promise.withResolvers<void>();
  handshake.promise.catch(() => {}); // only awaited over TLS
  const socket = await Bun.connect<SocketData>({
    hostname: addr.host,
    port: addr.port,
    data,
    ...(tls ? { tls: { ca: tls.ca, ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}), ...(tls.serverName ? { serverName: tls.serverName } : {}), rejectUnauthorized: true } } : {}),
    socket: {
      handshake() {
        handshake.resolve();
      },
      data(s, chunk) {
        s.data.conn?.received(chunk);
      },
      drain(s) {
        s.data.conn?.drain();
      },
      close(s) {
        handshake.reject(new Error("the connection closed during the TLS handshake"));
        s.data.conn?.socketClosed();
      },
      error(s, e) {
        handshake.reject(e);
        s.data.conn?.socketClosed();
      },
    },
  });
  if (tls) {
    const waitMs = Math.max(0, deadline - performance.now());
    const timer = setTimeout(() => handshake.reject(new Error(`no TLS handshake within ${Math.round(waitMs)} ms`)), waitMs);
    try {
      await handshake.promise;
    } catch (e) {
      socket.terminate();
      throw new Error(`TLS with ${addr.host}:${addr.port} failed: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    const names = peerCertificateNames(socket as Socket<unknown>);
    const why = !socket.authorized
      ? String(socket.getAuthorizationError?.()?.message ?? "its certificate was not verified")
      : tls.serverName && !names.includes(tls.serverName)
        ? `its certificate names ${names.join(", ") || "nothing"}, not ${tls.serverName}`
        : null;
    if (why) {
      socket.terminate();
      throw new Error(`refused the TLS peer at ${addr.host}:${addr.port}: ${why}`);
    }
  }
  socket.setNoDelay(true);
  const conn = new Connection(socket as Socket<unknown>, limits, handler);
  if (tls) conn.peerNames = peerCertificateNames(socket as Socket<unknown>);
  socket.data.conn = conn;
  return conn;
}

/** How long a connection attempt may take in all, TLS included. */
const CONNECT_TIMEOUT_MS = 5000;
