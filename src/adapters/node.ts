/**
 * The Node adapter, on `node:http` with lameduck's own bridge to `Request`/`Response` (no
 * global overrides) and its own socket bookkeeping.
 *
 * - In flight: from arrival until the bridge has written the whole body and called `end()`,
 *   or the client left (`res` closed first); Node's `'finish'` alone cannot tell a body the
 *   client received from one the kernel merely buffered.
 * - Node's `close()` closes only connections idle at the call; connections that become idle
 *   later linger until `keepAliveTimeout`, and accepted connections that never sent a byte stay
 *   open forever. The adapter closes both itself.
 *
 * @module
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, Server as NetServer, type Socket } from "node:net";
import type { Adapter, Host } from "../core/adapter.ts";
import { Context } from "../core/context.ts";
import type { Exchange } from "../core/exchange.ts";
import type { ListenAddress, RemoteAddress } from "../core/types.ts";
import { send, toRequest, writePlain } from "./node_bridge.ts";

const IS_BUN = (globalThis as { Bun?: unknown }).Bun !== undefined;

/**
 * A `net.Server` that hands each accepted connection to `server`. Bun's `node:http` ignores
 * `listen({ fd })` and binds a random port instead (measured on Bun 1.4.5, no upstream issue
 * found); its `node:net` adopts the descriptor, so connections are bridged from there.
 */
function bridgeConnections(server: Server): NetServer {
  return createNetServer((socket) => server.emit("connection", socket));
}

/**
 * How long a new connection may take to send its first request before shutdown closes it as
 * idle. A client sends its request right after connecting, but the bytes may still sit in the
 * kernel when the connection is accepted: closing it then resets that request (seen as
 * ECONNRESET under `lameduck run`, where connections keep arriving while a worker drains).
 */
const FIRST_REQUEST_GRACE_MS = 250;

/**
 * `ctx` on Node: `incoming` and `outgoing` for `@hono/node-server`'s helpers; `remoteAddr`
 * from the socket, read when used. The adapter itself reports a client that left.
 */
class NodeContext extends Context {
  readonly incoming: IncomingMessage;
  readonly outgoing: ServerResponse;

  constructor(shutdown: AbortSignal, incoming: IncomingMessage, outgoing: ServerResponse) {
    super(shutdown);
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  get remoteAddr(): RemoteAddress {
    const socket = this.incoming.socket;
    return { transport: "tcp", hostname: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
  }
}

/** Per-connection bookkeeping. */
interface Connection {
  /** Requests received and not yet answered. */
  active: number;
  /** `socket.bytesRead` when the last response finished: more means a request is arriving. */
  mark: number;
  /** When it was accepted (`performance.now()`). */
  acceptedAt: number;
}

/** The bridge never throws; anything caught here is a lameduck bug: never lose it. */
function internalError(error: unknown, outgoing: ServerResponse): void {
  console.error("lameduck: internal error while answering a request:", error);
  outgoing.destroy();
}

/** Writes the handler's response; the exchange ends once it is written or the client left. */
function reply(
  host: Host,
  exchange: Exchange,
  response: Response,
  outgoing: ServerResponse,
  head: boolean,
): void {
  try {
    send(response, outgoing, { head, keepAlive: !host.draining }, exchange);
  } catch (error) {
    internalError(error, outgoing);
  }
}

/** Creates the Node adapter. */
export function createAdapter(): Adapter {
  let server: Server | undefined;
  /** What accepts connections: `server`, or on Bun with an inherited socket a `net.Server`. */
  let listener: Server | NetServer | undefined;
  let closed: Promise<void> | undefined;
  let closing = false;
  const connections = new Map<Socket, Connection>();

  /** Closes `socket` if no request is in progress on it (not even partly received). */
  const closeIfIdle = (socket: Socket, connection: Connection): void => {
    if (connection.active > 0 || socket.bytesRead !== connection.mark) return;
    const wait = connection.acceptedAt + FIRST_REQUEST_GRACE_MS - performance.now();
    if (connection.mark === 0 && wait > 0) {
      setTimeout(() => closeIfIdle(socket, connection), wait).unref();
      return;
    }
    socket.destroy();
  };

  /** Answers one request. Synchronous up to `fetch`'s promise, if it returns one. */
  const handle = (
    host: Host,
    origin: string,
    incoming: IncomingMessage,
    outgoing: ServerResponse,
  ): void => {
    const socket = incoming.socket;
    const connection = connections.get(socket);
    if (connection) connection.active++;
    let exchange: Exchange | undefined;
    // One listener for both (an extra one costs measurably per request).
    outgoing.on("close", () => {
      if (connection) {
        connection.active--;
        connection.mark = socket.bytesRead;
        if (closing) closeIfIdle(socket, connection);
      }
      if (exchange !== undefined && !outgoing.writableFinished) exchange.clientGone();
    });
    let request: Request;
    try {
      request = toRequest(incoming, origin);
    } catch (error) {
      // A Host header or target that forms no URL, or a method Fetch refuses (CONNECT, TRACE).
      if (!(error instanceof TypeError)) throw error;
      writePlain(outgoing, 400, "Bad Request\n", { keepAlive: false });
      return;
    }
    const head = incoming.method === "HEAD";
    const opened = host.open(request, new NodeContext(host.signal, incoming, outgoing));
    if (opened instanceof Response) {
      void send(opened, outgoing, { head, keepAlive: !host.draining });
      return;
    }
    const current = exchange = opened;
    const response = current.respond();
    if (response instanceof Response) {
      reply(host, current, response, outgoing, head); // No promise for a synchronous `fetch`.
      return;
    }
    response.then(
      (response) => reply(host, current, response, outgoing, head),
      (error) => internalError(error, outgoing),
    );
  };

  return {
    runtime: "node",
    listen({ port, hostname, fd, reusePort }, host): Promise<ListenAddress> {
      return new Promise((resolve, reject) => {
        const s = createServer();
        server = s;
        let origin = `http://${hostname}:${port}`;
        s.on("connection", (socket: Socket) => {
          const connection = { active: 0, mark: 0, acceptedAt: performance.now() };
          connections.set(socket, connection);
          socket.once("close", () => connections.delete(socket));
          if (closing) closeIfIdle(socket, connection);
        });
        s.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
          try {
            handle(host, origin, incoming, outgoing);
          } catch (error) {
            internalError(error, outgoing);
          }
        });
        listener = fd !== undefined && IS_BUN ? bridgeConnections(s) : s;
        const l = listener;
        l.once("error", reject);
        const onListening = () => {
          l.off("error", reject);
          const address = l.address();
          const bound = typeof address === "object" && address ? address : undefined;
          const h = bound?.address ?? hostname;
          const p = bound?.port ?? port;
          const shown = h.includes(":") ? `[${h}]` : h;
          origin = `http://${shown}:${p}`;
          resolve({ hostname: h, port: p, url: `${origin}/` });
        };
        if (fd !== undefined) l.listen({ fd }, onListening);
        else if (reusePort) l.listen({ port, host: hostname, reusePort }, onListening);
        else l.listen(port, hostname, onListening);
      });
    },
    close(): Promise<void> {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        if (!listener) return resolve();
        // net.Server's close, not http.Server's: that one also destroys every connection
        // without a parsed request, including new ones whose request is still in the kernel.
        // Idle connections are closed by closeIfIdle instead.
        NetServer.prototype.close.call(listener, () => resolve());
        for (const [socket, connection] of connections) closeIfIdle(socket, connection);
      });
      return closed;
    },
    force(): void {
      closing = true;
      server?.closeAllConnections();
      for (const socket of connections.keys()) socket.destroy();
    },
  };
}
