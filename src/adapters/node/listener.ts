/**
 * The Node adapter's path for a Node request listener (`serve({ listener })`): `node:http`'s
 * own `req` and `res` go to the listener, with no `Request` or `Response` built. Per request:
 * the connection book's count, one {@linkcode Passage} in the core (in flight until `res`
 * closes: finished, or the client left), and one `'close'` listener. Probes and overload are
 * answered before the listener, through the bridge's `send`.
 *
 * @module
 */

import { type IncomingMessage, ServerResponse } from "node:http";
import type { Host } from "../../core/adapter.ts";
import type { Passage } from "../../core/passage.ts";
import type { NodeListener } from "../../core/types.ts";
import type { ConnectionBook } from "./connections.ts";
import { internalError } from "./handle.ts";
import { resetStatus, writePlain } from "./head.ts";
import { send } from "./response.ts";

const PASSAGE = Symbol("lameduck.passage");
type Held = ServerResponse & { [PASSAGE]?: Passage };

const WRITE_HEAD = ServerResponse.prototype.writeHead;

/** `headers` (a `writeHead` argument: an object, or a flat `[name, value, ...]` array) set on `res`, without `Connection`. */
function setAllButConnection(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const name = String(headers[i]);
      if (name.toLowerCase() !== "connection") res.removeHeader(name);
    }
    for (let i = 0; i < headers.length; i += 2) {
      const name = String(headers[i]);
      if (name.toLowerCase() === "connection") continue;
      const had = res.getHeader(name);
      const value = headers[i + 1] as string | string[];
      res.setHeader(
        name,
        had === undefined ? value : ([] as unknown[]).concat(had, value) as string[],
      );
    }
    return;
  }
  if (headers === null || typeof headers !== "object") return;
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === "connection") continue;
    res.setHeader(name, (headers as Record<string, string | string[]>)[name]!);
  }
}

/**
 * `node:http`'s `ServerResponse` for one server, whose head says `Connection: close` (once,
 * replacing any `Connection` the app set, by `setHeader` or in `writeHead`'s headers) when it
 * is written after shutdown started. Every head goes through `writeHead` (an implicit head
 * too: `res.end()` calls `this.writeHead`; measured on Node 24.21, Bun 1.4.5 and Deno 2.9.6),
 * so the app's own header handling (Express, Koa, Fastify) cannot skip it. While serving, the
 * cost is one check per response.
 */
export function closingResponse(host: Host): typeof ServerResponse {
  const writeHead = WRITE_HEAD as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  class ListenerResponse extends ServerResponse {
    override writeHead(statusCode: number, ...rest: unknown[]): this {
      if (!host.draining || this.headersSent) {
        return writeHead.call(this, statusCode, ...rest) as this;
      }
      const reason = typeof rest[0] === "string" ? rest[0] : undefined;
      setAllButConnection(this, reason === undefined ? rest[0] : rest[1]);
      this.setHeader("connection", "close");
      return (reason === undefined
        ? writeHead.call(this, statusCode)
        : writeHead.call(this, statusCode, reason)) as this;
    }
  }
  return ListenerResponse as unknown as typeof ServerResponse;
}

/** Serves one request through the listener. */
export type ListenerHandle = (
  host: Host,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
) => void;

/** The request path of one server serving `listener`, whose connections are in `book`. */
export function createListenerHandle(book: ConnectionBook, listener: NodeListener): ListenerHandle {
  const serve = listener as unknown as (req: IncomingMessage, res: ServerResponse) => unknown;

  /** `res` closed: the request is over (finished, or the client left). */
  function onClose(this: ServerResponse): void {
    const incoming = this.req;
    const socket = incoming.socket;
    const connection = book.get(socket);
    if (connection) book.over(incoming, socket, connection);
    (this as Held)[PASSAGE]?.end();
  }

  return (host, incoming, outgoing) => {
    const socket = incoming.socket;
    const connection = book.get(socket);
    if (connection) connection.active++;
    outgoing.prependListener("close", onClose);
    const admitted = host.admit(incoming.method ?? "GET", incoming.url ?? "/");
    if (admitted instanceof Response) return answer(host, admitted, incoming, outgoing);
    if (admitted instanceof Promise) {
      admitted.then(
        (response) => answer(host, response, incoming, outgoing),
        (error) => internalError(host, error, outgoing),
      );
      return;
    }
    (outgoing as Held)[PASSAGE] = admitted;
    let result: unknown;
    try {
      result = serve(incoming, outgoing);
    } catch (error) {
      return failed(host, error, outgoing);
    }
    // Koa's callback returns a promise (it answers its own errors); a rejection is not lost.
    if (result instanceof Promise) result.catch((error) => failed(host, error, outgoing));
  };
}

/** The core answered (a probe, overload): sent as the bridge sends a `fetch` response. */
function answer(
  host: Host,
  response: Response,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): void {
  try {
    send(response, outgoing, { head: incoming.method === "HEAD", keepAlive: !host.draining });
  } catch (error) {
    internalError(host, error, outgoing);
  }
}

/**
 * The listener threw or rejected: the error is logged; the client gets a `500` when nothing
 * was sent yet, else the connection is closed (a truncated response, never a complete-looking
 * one).
 */
function failed(host: Host, error: unknown, outgoing: ServerResponse): void {
  host.log({ type: "error", error });
  if (outgoing.headersSent || outgoing.destroyed) {
    if (!outgoing.writableEnded) outgoing.destroy();
    return;
  }
  try {
    resetStatus(outgoing);
    writePlain(outgoing, 500, "Internal Server Error\n", { keepAlive: false });
  } catch {
    outgoing.destroy();
  }
}
