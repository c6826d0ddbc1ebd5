/**
 * The Node adapter, on `node:http` with lameduck's own bridge to `Request`/`Response` and its
 * own socket bookkeeping. With `overrideGlobals` (the default on Node) the handler gets a lazy
 * `Request` and a `new Response(string)` is written without web streams (`node_globals.ts`);
 * without it, native objects both ways. With `tls` on Node it serves HTTP/2 and HTTP/1.1 on one
 * port (`node_http2.ts`): HTTP/1.1 connections are handled as below, HTTP/2 sessions get GOAWAY
 * when the listener closes and are destroyed when forced.
 *
 * - `request.signal` aborts when the client leaves before the response ended (`res` closed
 *   before it finished), as on Bun and `@hono/node-server`.
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
import { createServer as createHttpsServer } from "node:https";
import { createSecureServer, type ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, Server as NetServer, type Socket } from "node:net";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import type { Adapter, Host } from "../core/adapter.ts";
import { Context } from "../core/context.ts";
import type { Exchange } from "../core/exchange.ts";
import type { ListenAddress, RemoteAddress } from "../core/types.ts";
import { send, toRequest, type WriteOptions, writePlain } from "./node_bridge.ts";
import { resetStatus } from "./node_head.ts";
import { globalsInstalled, installGlobals, LazyRequest, NativeResponse } from "./node_globals.ts";
import { REFUSED_METHODS, urlOf } from "./node_request.ts";
import { trackUpgrades, type Upgrades } from "./node_upgrade.ts";
import { goAwayAfter, H2Request, H2Response, type Sessions, trackSessions } from "./node_http2.ts";

const IS_BUN = (globalThis as { Bun?: unknown }).Bun !== undefined;
/**
 * HTTP/2 is served on Node only: on Deno and Bun this adapter serves an inherited socket
 * through their `node:http` and `node:https`, whose `node:http2` servers are not what their
 * own servers are (Deno.serve negotiates HTTP/2 by itself; Bun.serve has none).
 */
const IS_NODE = !IS_BUN && (globalThis as { Deno?: unknown }).Deno === undefined;

/**
 * A `net.Server` that hands each accepted connection to `server`. Bun's `node:http` ignores
 * `listen({ fd })` and binds a random port instead (measured on Bun 1.4.5, no upstream issue
 * found); its `node:net` adopts the descriptor, so connections are bridged from there. With
 * TLS, Bun's `node:https` server answers such a bridged connection in plaintext (Bun 1.4.5,
 * no upstream issue found; tests/tls/), so the TLS socket is made here and handed to a plain
 * `node:http` server.
 */
function bridgeConnections(server: Server, tls: SecureContext | undefined): NetServer {
  return createNetServer((socket) => {
    server.emit(
      "connection",
      tls ? new TLSSocket(socket, { isServer: true, secureContext: tls }) : socket,
    );
  });
}

/**
 * How long a new connection may take to send its first request before shutdown closes it as
 * idle. A client sends its request right after connecting, but the bytes may still sit in the
 * kernel when the connection is accepted: closing it then resets that request (seen as
 * ECONNRESET under `lameduck run`, where connections keep arriving while a worker drains).
 */
const FIRST_REQUEST_GRACE_MS = 250;

/**
 * How long after the listener closed a connection with no request in flight may go on
 * receiving: a request head still arriving (a slow client, or slowloris), or the unread body of
 * a request already answered. A head that completes in time is answered (`Connection: close`);
 * then, or past this, the connection is closed. Such a connection is not in flight (the drain
 * report does not count it), so it must not hold the drain: Go's `Shutdown` closes a connection
 * that never completed a request after 5 s; this is shorter, far below `drainTimeout`'s default,
 * so that a connection that carries nothing never decides how long a drain takes.
 */
const ARRIVAL_GRACE_MS = 1_000;

/**
 * After a response ended, the rest of a request body the handler did not read is read and
 * discarded for at most this long and this many bytes, then the connection is closed. Node
 * itself would read it forever (`IncomingMessage._dump`), so a client uploading slowly to a
 * handler that answered without reading would keep its connection, and the drain, open.
 * Reading it at all lets a client still sending get the response before the close (closing
 * with unread bytes resets the connection, and a reset can make the client drop the response).
 * The same bounds as `@hono/node-server`'s time cap; bytes well below its 64 MiB.
 */
const UNREAD_BODY_MS = 500;
const UNREAD_BODY_BYTES = 1024 * 1024;

/**
 * `ctx` on Node: `incoming` and `outgoing` for `@hono/node-server`'s helpers; `remoteAddr`
 * from the socket, read when used. The adapter itself reports a client that left.
 */
class NodeContext extends Context {
  readonly incoming: IncomingMessage;
  readonly outgoing: ServerResponse;
  readonly #connection: Connection | undefined;

  constructor(
    shutdown: AbortSignal,
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    connection: Connection | undefined,
  ) {
    super(shutdown);
    this.incoming = incoming;
    this.outgoing = outgoing;
    this.#connection = connection;
  }

  /** Read once per connection. */
  get remoteAddr(): RemoteAddress {
    const connection = this.#connection;
    const socket = this.incoming.socket;
    return connection ? connection.remote ??= remoteOf(socket) : remoteOf(socket);
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
  /**
   * Bytes arriving with no request in flight once the listener closed get
   * {@linkcode ARRIVAL_GRACE_MS}: `"none"` before that, `"running"` during it, `"over"` after.
   */
  arrival: "none" | "running" | "over";
  /** The client's address, read once per connection (each read is a system call). */
  remote: RemoteAddress | undefined;
}

/** What the adapter knows about a request until its response closes. */
interface Pending {
  connection: Connection | undefined;
  socket: Socket;
  incoming: IncomingMessage;
  exchange: Exchange | undefined;
  /** The handler's request when the globals are replaced. */
  lazy: LazyRequest | undefined;
  /** What the native request's `signal` follows otherwise. */
  controller: AbortController | undefined;
}

const PENDING = Symbol("lameduck.pending");
type Tracked = ServerResponse & { [PENDING]?: Pending };

const WRITE_OPTIONS: readonly WriteOptions[] = [
  { head: false, keepAlive: false },
  { head: false, keepAlive: true },
  { head: true, keepAlive: false },
  { head: true, keepAlive: true },
];

/** Shared option objects: one per request cost measurably. */
function writeOptions(head: boolean, keepAlive: boolean): WriteOptions {
  return WRITE_OPTIONS[(head ? 2 : 0) + (keepAlive ? 1 : 0)]!;
}

/**
 * The bridge never throws; anything caught here is a lameduck bug: never lose it. The client
 * still gets a `500` when nothing was sent yet.
 */
function internalError(error: unknown, outgoing: ServerResponse): void {
  console.error("lameduck: internal error while answering a request:", error);
  if (outgoing.headersSent || outgoing.destroyed) {
    outgoing.destroy();
    return;
  }
  try {
    resetStatus(outgoing); // A failed writeHead left its own: never `500 OK`.
    writePlain(outgoing, 500, "Internal Server Error\n", { keepAlive: false });
  } catch {
    outgoing.destroy();
  }
}

/** Options of {@linkcode createAdapter}. */
export interface NodeAdapterOptions {
  /**
   * Replace the global `Request`, `Response` and `fetch` with lameduck's (`node_globals.ts`)
   * when the server starts listening: the fast path. Never undone.
   */
  overrideGlobals: boolean;
}

/**
 * Writes the handler's response; the exchange ends once it is written or the client left. A
 * response that cannot be sent is logged with its request through the exchange, and answered
 * through `onError` when nothing was written yet (`send`). Returns whether the outcome is known
 * already (no promise).
 */
function reply(
  host: Host,
  exchange: Exchange,
  response: Response,
  outgoing: ServerResponse,
  head: boolean,
): boolean {
  try {
    return typeof send(response, outgoing, writeOptions(head, !host.draining), exchange) ===
      "string";
  } catch (error) {
    internalError(error, outgoing);
    return false;
  }
}

function remoteOf(socket: Socket): RemoteAddress {
  return Object.freeze({
    transport: "tcp",
    hostname: socket.remoteAddress ?? "",
    port: socket.remotePort ?? 0,
  });
}

/** Creates the Node adapter. */
export function createAdapter(options: NodeAdapterOptions = { overrideGlobals: false }): Adapter {
  let server: Server | undefined;
  /** What accepts connections: `server`, or on Bun with an inherited socket a `net.Server`. */
  let listener: Server | NetServer | undefined;
  let closed: Promise<void> | undefined;
  let closing = false;
  const connections = new Map<Socket, Connection>();
  let upgrades: Upgrades | undefined;
  /** HTTP/2 sessions, with `tls` on Node. */
  let sessions: Sessions | undefined;

  /**
   * While closing: closes `socket` unless a request is in flight on it. Bytes still arriving
   * (a request head, an unread body) get {@linkcode ARRIVAL_GRACE_MS} from the first look; a
   * connection accepted just now, {@linkcode FIRST_REQUEST_GRACE_MS} to send anything.
   */
  const closeIfIdle = (socket: Socket, connection: Connection): void => {
    if (connection.active > 0) return;
    if (socket.bytesRead !== connection.mark) {
      if (connection.arrival === "none") {
        connection.arrival = "running";
        setTimeout(() => {
          connection.arrival = "over";
          closeIfIdle(socket, connection);
        }, ARRIVAL_GRACE_MS).unref();
      }
      if (connection.arrival === "running") return;
    } else {
      const wait = connection.acceptedAt + FIRST_REQUEST_GRACE_MS - performance.now();
      if (connection.mark === 0 && wait > 0) {
        setTimeout(() => closeIfIdle(socket, connection), wait).unref();
        return;
      }
    }
    socket.destroy();
  };

  /**
   * The response to `incoming` ended before its body was read: read and discard the rest, at
   * most {@linkcode UNREAD_BODY_MS} and {@linkcode UNREAD_BODY_BYTES}, then close the
   * connection. Once the body ended, the connection is idle.
   */
  const discardUnread = (
    incoming: IncomingMessage,
    socket: Socket,
    connection: Connection,
  ): void => {
    let bytes = 0;
    const cut = () => {
      done();
      socket.destroy();
    };
    const timer = setTimeout(cut, UNREAD_BODY_MS).unref();
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > UNREAD_BODY_BYTES) cut();
    };
    const done = () => {
      clearTimeout(timer);
      incoming.off("data", onData).off("end", ended).off("error", done);
    };
    const ended = () => {
      done();
      connection.mark = socket.bytesRead;
      if (closing) closeIfIdle(socket, connection);
    };
    incoming.on("data", onData).on("end", ended).on("error", done);
    incoming.resume();
  };

  /** A connection closed. */
  function forget(this: Socket): void {
    connections.delete(this);
  }

  /**
   * The response to `incoming` on `connection` is over: its connection may be idle now, or once
   * the rest of an unread body is gone.
   */
  const over = (incoming: IncomingMessage, socket: Socket, connection: Connection): void => {
    connection.active--;
    connection.mark = socket.bytesRead;
    if (!incoming.complete && !socket.destroyed) discardUnread(incoming, socket, connection);
    else if (closing) closeIfIdle(socket, connection);
  };

  /** `outgoing` closed: the request is over; the client left if it had not finished. */
  function onClose(this: ServerResponse): void {
    const pending = (this as Tracked)[PENDING]!;
    const { connection, socket, exchange, incoming } = pending;
    if (connection) over(incoming, socket, connection);
    if (exchange !== undefined && !this.writableFinished) {
      const reason = new DOMException("The client disconnected", "AbortError");
      if (pending.lazy !== undefined) LazyRequest.abort(pending.lazy, reason);
      else pending.controller?.abort(reason);
      exchange.clientGone();
    }
  }

  /**
   * Whether the request answered by `outgoing` is over as soon as `handle()` returns: on Node,
   * a response written whole with `end()` on a plaintext HTTP/1.1 connection, all of it already
   * taken by the kernel (nothing left in the socket's buffer, and no write error: a client that
   * reset the connection fails the write synchronously, and its request's signals must abort),
   * not queued behind an earlier pipelined response (`outgoing.socket` is then `null`), while
   * the server is not closing. Then the bookkeeping is done at once, without a `'close'` listener
   * per request (bench/PROFILES.md). Anything else waits for `outgoing` to close: TLS sockets
   * keep the bytes buffered after `end()`, and Deno's and Bun's `node:http` sockets may buffer
   * differently.
   */
  const writtenNow = (outgoing: ServerResponse, socket: Socket): boolean =>
    IS_NODE && !closing && outgoing.writableEnded && outgoing.socket === socket &&
    socket.writableLength === 0 && socket.errored === null;

  /**
   * Answers one request. Synchronous up to `fetch`'s promise, if it returns one. The request is
   * over when `outgoing` closes (`onClose`), or at once (`writtenNow`).
   */
  const handle = (
    host: Host,
    origin: string,
    incoming: IncomingMessage,
    outgoing: ServerResponse,
  ): void => {
    const socket = incoming.socket;
    const connection = connections.get(socket);
    if (connection) connection.active++;
    let lazy: LazyRequest | undefined;
    let controller: AbortController | undefined;
    let exchange: Exchange | undefined;
    /** The response was written before `handle()` returns. */
    let written = false;
    try {
      let request: Request;
      try {
        if (globalsInstalled()) {
          const method = incoming.method ?? "GET";
          if (REFUSED_METHODS.has(method)) throw new TypeError(`Unsupported method: ${method}`);
          lazy = new LazyRequest(incoming, method, urlOf(incoming, origin));
          request = lazy as unknown as Request;
        } else {
          controller = new AbortController();
          request = toRequest(incoming, origin, controller.signal);
        }
      } catch (error) {
        // A Host header or target that forms no URL, or a method Fetch refuses (CONNECT, TRACE).
        if (!(error instanceof TypeError)) throw error;
        writePlain(outgoing, 400, "Bad Request\n", { keepAlive: false });
        return;
      }
      const head = incoming.method === "HEAD";
      if (host.draining && incoming instanceof H2Request) goAwayAfter(incoming);
      const opened = host.open(
        request,
        new NodeContext(host.signal, incoming, outgoing, connection),
      );
      if (opened instanceof NativeResponse) {
        written = typeof send(opened, outgoing, writeOptions(head, !host.draining)) === "string";
        return;
      }
      const current = exchange = opened;
      const response = current.respond();
      if (response instanceof NativeResponse) {
        written = reply(host, current, response, outgoing, head); // No promise for a synchronous `fetch`.
        return;
      }
      response.then(
        (response) => reply(host, current, response, outgoing, head),
        (error) => internalError(error, outgoing),
      );
    } finally {
      // Runs before any 'close' can be emitted (it never is synchronously).
      // A request with a body may still be receiving it (Node's parser has not even seen a
      // body of one packet yet): its 'close' decides (`discardUnread`).
      if (
        written && connection !== undefined && writtenNow(outgoing, socket) &&
        (incoming.method === "GET" || incoming.method === "HEAD" || incoming.complete)
      ) {
        connection.active--;
        connection.mark = socket.bytesRead;
      } else {
        (outgoing as Tracked)[PENDING] = {
          connection,
          socket,
          incoming,
          exchange,
          lazy,
          controller,
        };
        // First, as when it was added before `fetch` ran: a 'close' listener the handler added
        // to `ctx.outgoing` sees the signals aborted already.
        outgoing.prependListener("close", onClose);
      }
    }
  };

  return {
    runtime: "node",
    listen({ port, hostname, fd, tls, websocket, reusePort }, host): Promise<ListenAddress> {
      const scheme = tls ? "https" : "http";
      if (options.overrideGlobals) installGlobals();
      return new Promise((resolve, reject) => {
        // node:https's server is node:http's with TLS in front: same requests, same sockets.
        const bridged = fd !== undefined && IS_BUN;
        // With TLS on Node, HTTP/2 and HTTP/1.1 on one port (ALPN decides); HTTP/1.1
        // connections get node:http's objects from it, HTTP/2 streams the compat ones.
        const h2 = tls !== undefined && IS_NODE;
        const s = h2
          ? createSecureServer({
            allowHTTP1: true,
            // node:https sets it, node:http2 does not (Node 24.21): without it a response
            // written in parts (a stream, SSE) waits for the client's ACKs (Nagle).
            noDelay: true,
            cert: tls.cert,
            key: tls.key,
            Http2ServerRequest: H2Request,
            Http2ServerResponse: H2Response,
          }) as unknown as Server
          : tls && !bridged
          ? createHttpsServer({ cert: tls.cert, key: tls.key }) as unknown as Server
          : createServer();
        server = s;
        if (h2) {
          const tracked = sessions = trackSessions(FIRST_REQUEST_GRACE_MS);
          s.on("session", (session: ServerHttp2Session) => tracked.add(session));
        }
        upgrades = trackUpgrades(s, websocket);
        if (typeof websocket === "function") {
          // An upgraded connection carries its exchange until it closes: never idle here
          // (`upgrades` counts it in flight, `force()` cuts it).
          s.on("upgrade", (_incoming: IncomingMessage, socket: Socket) => {
            const connection = connections.get(socket);
            if (connection) connection.active++;
          });
        }
        let origin = `${scheme}://${hostname}:${port}`;
        // With TLS, the socket a request arrives on is the TLS socket of `secureConnection`.
        s.on(tls && !bridged ? "secureConnection" : "connection", (socket: Socket) => {
          // An HTTP/2 connection is its session's (`sessions`).
          if (h2 && (socket as TLSSocket).alpnProtocol === "h2") return;
          const connection: Connection = {
            active: 0,
            mark: 0,
            acceptedAt: performance.now(),
            arrival: "none",
            remote: undefined,
          };
          connections.set(socket, connection);
          socket.on("close", forget); // One shared listener: `once` and a closure cost memory per connection.
          if (closing) closeIfIdle(socket, connection);
        });
        s.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
          try {
            handle(host, origin, incoming, outgoing);
          } catch (error) {
            internalError(error, outgoing);
          }
        });
        listener = bridged
          ? bridgeConnections(s, tls && createSecureContext({ cert: tls.cert, key: tls.key }))
          : s;
        const l = listener;
        l.once("error", reject);
        const onListening = () => {
          l.off("error", reject);
          const address = l.address();
          const bound = typeof address === "object" && address ? address : undefined;
          const h = bound?.address ?? hostname;
          const p = bound?.port ?? port;
          const shown = h.includes(":") ? `[${h}]` : h;
          origin = `${scheme}://${shown}:${p}`;
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
        sessions?.close();
        upgrades?.goingAway();
      });
      return closed;
    },
    open(): number {
      return upgrades?.size ?? 0;
    },
    force(): void {
      closing = true;
      // An HTTP/2 server has no closeAllConnections: its HTTP/1.1 sockets are in `connections`.
      (server as Partial<Server> | undefined)?.closeAllConnections?.();
      for (const socket of connections.keys()) socket.destroy();
      sessions?.force();
    },
  };
}
