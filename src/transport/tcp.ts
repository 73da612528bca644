// Bun.listen / Bun.connect adapters that hand each socket to a Connection.

import type { Socket, TCPSocketListener } from "bun";
import type { Address } from "../config/index.ts";
import { Connection, type ConnectionHandler, type ConnectionLimits } from "./connection.ts";

interface SocketData {
  conn: Connection | null;
}

export interface Listener {
  readonly port: number;
  stop(): void;
}

/** Listens on `addr`; `accept` gives each new connection its handler. */
export function listen(addr: Address, limits: ConnectionLimits, accept: (conn: Connection) => void, handler: ConnectionHandler): Listener {
  const server: TCPSocketListener<SocketData> = Bun.listen<SocketData>({
    hostname: addr.host,
    port: addr.port,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        const conn = new Connection(socket as Socket<unknown>, limits, handler);
        socket.data = { conn };
        accept(conn);
      },
      data(socket, chunk) {
        socket.data.conn?.received(chunk);
      },
      drain(socket) {
        socket.data.conn?.drain();
      },
      close(socket) {
        socket.data.conn?.socketClosed();
      },
      error(socket) {
        socket.data.conn?.socketClosed();
      },
    },
  });
  return {
    get port() {
      return server.port;
    },
    stop() {
      server.stop(true);
    },
  };
}

/** Connects to `addr`. Rejects with a plain error if the peer cannot be reached. */
export async function connect(addr: Address, limits: ConnectionLimits, handler: ConnectionHandler): Promise<Connection> {
  const data: SocketData = { conn: null };
  const socket = await Bun.connect<SocketData>({
    hostname: addr.host,
    port: addr.port,
    data,
    socket: {
      data(s, chunk) {
        s.data.conn?.received(chunk);
      },
      drain(s) {
        s.data.conn?.drain();
      },
      close(s) {
        s.data.conn?.socketClosed();
      },
      error(s) {
        s.data.conn?.socketClosed();
      },
    },
  });
  socket.setNoDelay(true);
  const conn = new Connection(socket as Socket<unknown>, limits, handler);
  socket.data.conn = conn;
  return conn;
}
