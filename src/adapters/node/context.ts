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

/**
 * `ctx` on Bun's `node:http` (an inherited socket: `lameduck run`, systemd). There is no Bun
 * server here, but `hono/bun`'s helpers read one from `c.env.server`: `server` is a stand-in
 * whose `requestIP()` answers from the socket (so `getConnInfo` works on every path) and whose
 * `upgrade()` cannot upgrade: it says so once through the logger, in the apps that try and
 * only there, and returns `false` (Bun's answer for a request it did not upgrade).
 */
export class BunNodeContext extends NodeContext {
  /** Where the notice goes: the server's logger, set by the adapter when it listens. */
  static notice: ((message: string) => void) | undefined;
  static #told = false;
  #server: BunServerStandIn | undefined;

  get server(): BunServerStandIn {
    return this.#server ??= {
      requestIP: () => {
        const { hostname, port } = this.remoteAddr;
        return { address: hostname, port, family: hostname.includes(":") ? "IPv6" : "IPv4" };
      },
      upgrade: () => {
        if (!BunNodeContext.#told) {
          BunNodeContext.#told = true;
          BunNodeContext.notice?.(
            "bun: server.upgrade() was called, but the inherited socket is served through " +
              "node:http, where Bun's server cannot upgrade: hono/bun's upgradeWebSocket does " +
              "not work here (pass a websocket function that attaches an upgrade listener to the " +
              "node:http server, e.g. @hono/node-ws's injectWebSocket)",
          );
        }
        return false;
      },
    };
  }
}

/** The part of Bun's server `hono/bun`'s helpers use, on Bun's `node:http`. */
export interface BunServerStandIn {
  /** The client's address, from the socket. */
  requestIP(): { address: string; port: number; family: "IPv4" | "IPv6" };
  /** Never upgrades here: `false`. */
  upgrade(): boolean;
}

function remoteOf(socket: Socket): RemoteAddress {
  return Object.freeze({
    transport: "tcp",
    hostname: socket.remoteAddress ?? "",
    port: socket.remotePort ?? 0,
  });
}
