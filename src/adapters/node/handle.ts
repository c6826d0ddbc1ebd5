/**
 * The Node adapter's request path: one `IncomingMessage` in, the handler's `Response` written
 * to its `ServerResponse`, the request in flight from arrival until the bridge has written the
 * whole body and called `end()`, or the client left (`outgoing` closed first); Node's
 * `'finish'` alone cannot tell a body the client received from one the kernel merely buffered.
 * `request.signal` aborts when the client leaves before the response ended, as on Bun and
 * `@hono/node-server`.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Host } from "../../core/adapter.ts";
import type { Exchange } from "../../core/exchange.ts";
import type { Connection, ConnectionBook } from "./connections.ts";
import { BunNodeContext, NodeContext } from "./context.ts";
import { globalsInstalled } from "./globals.ts";
import { LazyRequest } from "./lazy_request.ts";
import { NativeResponse } from "./light_response.ts";
import { resetStatus, type WriteOptions, writePlain } from "./head.ts";
import { goAwayAfter, H2Request } from "./http2.ts";
import { REFUSED_METHODS, toRequest } from "./request.ts";
import { send } from "./response.ts";
import { urlOf } from "./url.ts";

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

/** The shared option object for a response: none is made per request. */
function writeOptions(head: boolean, keepAlive: boolean): WriteOptions {
  return WRITE_OPTIONS[(head ? 2 : 0) + (keepAlive ? 1 : 0)]!;
}

/**
 * The bridge never throws; anything caught here is a lameduck bug: never lose it (logged
 * through the server's `logger`). The client still gets a `500` when nothing was sent yet.
 */
export function internalError(host: Host, error: unknown, outgoing: ServerResponse): void {
  host.log({ type: "error", error });
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
    internalError(host, error, outgoing);
    return false;
  }
}

/** Answers one request on `incoming` and `outgoing`, for the server whose origin is `origin`. */
export type Handle = (
  host: Host,
  origin: string,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
) => void;

/**
 * The request path of one server, whose connections are in `book`. `onNode`: the server runs
 * on Node (whose plaintext sockets the fast path knows; see `writtenNow`).
 */
export function createHandle(book: ConnectionBook, onNode: boolean, onBun = false): Handle {
  const Ctx = onBun ? BunNodeContext : NodeContext;
  /** `outgoing` closed: the request is over; the client left if it had not finished. */
  function onClose(this: ServerResponse): void {
    const pending = (this as Tracked)[PENDING]!;
    const { connection, socket, exchange, incoming } = pending;
    if (connection) book.over(incoming, socket, connection);
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
    onNode && !book.closing && outgoing.writableEnded && outgoing.socket === socket &&
    socket.writableLength === 0 && socket.errored === null;

  /**
   * Answers one request. Synchronous up to `fetch`'s promise, if it returns one. The request is
   * over when `outgoing` closes (`onClose`), or at once (`writtenNow`).
   */
  return (host, origin, incoming, outgoing) => {
    const socket = incoming.socket;
    const connection = book.get(socket);
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
        new Ctx(host.signal, incoming, outgoing, connection),
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
        (error) => internalError(host, error, outgoing),
      );
    } finally {
      // Runs before any 'close' can be emitted (it never is synchronously).
      // A request with a body may still be receiving it (Node's parser has not even seen a
      // body of one packet yet): its 'close' decides (`ConnectionBook.over`).
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
}
