// A fault-injecting TCP proxy, one listener per link ("node2.repl", "node1->master", ...). There
// is no tc netem here (MACHINE-NOTES.md), so network faults are made in user space: every byte
// between two catena processes passes through one of these links, which can
//   - blackhole: hold every byte, in both directions, and open no new upstream connection — what
//     an iptables DROP does to TCP: nothing arrives, nothing fails, until the link heals (then
//     the held bytes flow, as after a TCP retransmission);
//   - delay: deliver each chunk `ms` later, in order;
//   - reset: cut every open connection at once (both sides see it closed).
// Held bytes are bounded per direction: past QUEUE_BYTES_MAX the proxy stops reading from the
// sender, which is how a full TCP window pushes back.

import type { Socket, TCPSocketListener } from "bun";

export type LinkMode = { kind: "pass" } | { kind: "blackhole" } | { kind: "delay"; ms: number };

const QUEUE_BYTES_MAX = 4 << 20;

interface End {
  pipe: Pipe;
  /** 0: the accepted (downstream) socket, 1: the upstream socket the proxy dialled. */
  side: 0 | 1;
}

interface Chunk {
  bytes: Uint8Array;
  at: number;
}

/** One proxied connection: sockets[0] is the dialler's, sockets[1] the upstream listener's. */
class Pipe {
  readonly sockets: [Socket<End> | null, Socket<End> | null] = [null, null];
  /** queues[i]: bytes received from side i, waiting to be written to the other side. */
  private readonly queues: [Chunk[], Chunk[]] = [[], []];
  private readonly queued = [0, 0];
  private readonly lastAt = [0, 0];
  private readonly timers: [ReturnType<typeof setTimeout> | null, ReturnType<typeof setTimeout> | null] = [null, null];
  private readonly ended = [false, false];
  private connecting = false;
  closed = false;

  constructor(
    private readonly link: ProxyLink,
    accepted: Socket<End>,
  ) {
    this.sockets[0] = accepted;
  }

  /** Dials upstream unless the link is blackholed (then the dialler waits, as with a lost SYN). */
  connectIfAllowed(): void {
    if (this.closed || this.connecting || this.sockets[1] || this.link.mode.kind === "blackhole") return;
    this.connecting = true;
    const end: End = { pipe: this, side: 1 };
    Bun.connect<End>({ hostname: this.link.target.host, port: this.link.target.port, data: end, socket: this.link.handlers }).then(
      (socket) => {
        this.connecting = false;
        if (this.closed) return void socket.terminate();
        this.sockets[1] = socket;
        this.pump(0);
        this.pump(1);
      },
      () => this.close(), // upstream down: the dialler sees its connection closed
    );
  }

  received(side: 0 | 1, chunk: Uint8Array): void {
    if (this.closed) return;
    const mode = this.link.mode;
    const at = Math.max(performance.now() + (mode.kind === "delay" ? mode.ms : 0), this.lastAt[side]);
    this.lastAt[side] = at;
    this.queues[side].push({ bytes: chunk.slice(), at });
    this.queued[side] += chunk.length;
    if (this.queued[side] > QUEUE_BYTES_MAX) this.sockets[side]?.pause();
    this.pump(side);
  }

  /** Side `side` closed its end: deliver what it sent, then end the other side. */
  sideEnded(side: 0 | 1): void {
    this.ended[side] = true;
    this.pump(side);
  }

  /** Writes what side `from` sent to the other side, as far as the mode and the socket allow. */
  pump(from: 0 | 1): void {
    if (this.closed || this.link.mode.kind === "blackhole") return;
    const to = this.sockets[from === 0 ? 1 : 0];
    if (!to) return;
    const queue = this.queues[from];
    const now = performance.now();
    while (queue.length > 0) {
      const head = queue[0];
      if (head.at > now) {
        if (!this.timers[from]) {
          this.timers[from] = setTimeout(() => {
            this.timers[from] = null;
            this.pump(from);
          }, head.at - now);
        }
        return;
      }
      const n = to.write(head.bytes);
      if (n < 0) return this.close();
      this.queued[from] -= n;
      if (n < head.bytes.length) {
        head.bytes = head.bytes.subarray(n);
        break; // resumed on drain
      }
      queue.shift();
    }
    if (this.queued[from] < QUEUE_BYTES_MAX / 2) this.sockets[from]?.resume();
    if (queue.length === 0 && this.ended[from]) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) if (t) clearTimeout(t);
    for (const s of this.sockets) s?.end();
    this.link.pipes.delete(this);
  }

  /** Cuts both sockets at once, dropping what was held. */
  terminate(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) if (t) clearTimeout(t);
    for (const s of this.sockets) s?.terminate();
    this.link.pipes.delete(this);
  }
}

export class ProxyLink {
  mode: LinkMode = { kind: "pass" };
  readonly pipes = new Set<Pipe>();
  private readonly server: TCPSocketListener<End>;
  readonly handlers = {
    data: (socket: Socket<End>, chunk: Uint8Array) => socket.data.pipe.received(socket.data.side, chunk),
    drain: (socket: Socket<End>) => socket.data.pipe.pump(socket.data.side === 0 ? 1 : 0),
    end: (socket: Socket<End>) => socket.data.pipe.sideEnded(socket.data.side),
    close: (socket: Socket<End>) => socket.data.pipe.sideEnded(socket.data.side),
    error: (socket: Socket<End>) => socket.data.pipe.terminate(),
  };

  constructor(
    readonly name: string,
    readonly target: { host: string; port: number },
  ) {
    this.server = Bun.listen<End>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        ...this.handlers,
        open: (socket) => {
          const pipe = new Pipe(this, socket);
          socket.data = { pipe, side: 0 };
          this.pipes.add(pipe);
          pipe.connectIfAllowed();
        },
      },
    });
  }

  get port(): number {
    return this.server.port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  setMode(mode: LinkMode): void {
    this.mode = mode;
    for (const pipe of [...this.pipes]) {
      pipe.connectIfAllowed();
      pipe.pump(0);
      pipe.pump(1);
    }
  }

  /** Cuts every open connection through this link. */
  reset(): void {
    for (const pipe of [...this.pipes]) pipe.terminate();
  }

  stop(): void {
    this.reset();
    this.server.stop(true);
  }
}
