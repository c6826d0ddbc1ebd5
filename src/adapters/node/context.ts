/**
 * `ctx` on Node, and on Deno and Bun when their `node:http` serves an inherited socket.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Context } from "../../core/context.ts";
import type { RemoteAddress } from "../../core/types.ts";
import type { Connection } from "./connections.ts";

/**
 * `ctx` on Node: `incoming` and `outgoing` for `@hono/node-server`'s helpers; `remoteAddr`
 * from the socket, read when used. The adapter itself reports a client that left.
 */
export class NodeContext extends Context {
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

function remoteOf(socket: Socket): RemoteAddress {
  return Object.freeze({
    transport: "tcp",
    hostname: socket.remoteAddress ?? "",
    port: socket.remotePort ?? 0,
  });
}
