/**
 * Upgraded connections (WebSockets) on `node:http`: the user's `upgrade` listener is attached
 * through the `websocket` option, and lameduck keeps the set of upgraded sockets so shutdown can
 * say `1001 Going Away` when the listener closes and cut them at the deadline. Node's own
 * `closeAllConnections()` does not see upgraded sockets.
 *
 * @module
 */

import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";

/** A WebSocket close frame, server to client (unmasked): `1001 Going Away`. */
function goingAwayFrame(): Uint8Array {
  const reason = new TextEncoder().encode("Server shutting down");
  const frame = new Uint8Array(4 + reason.length);
  frame[0] = 0x88; // FIN + opcode 8 (close)
  frame[1] = 2 + reason.length;
  frame[2] = 1001 >> 8;
  frame[3] = 1001 & 0xff;
  frame.set(reason, 4);
  return frame;
}

/** The upgraded sockets of one server. */
export interface Upgrades {
  /** How many are open. */
  readonly size: number;
  /** Sends `1001 Going Away` on every open WebSocket (once each). */
  goingAway(): void;
}

/**
 * Tracks the sockets `server` upgrades, then calls `attach(server)` (e.g. `injectWebSocket`
 * from `@hono/node-ws`, or a `ws` `WebSocketServer({ noServer: true })`'s `handleUpgrade`).
 */
export function trackUpgrades(server: Server, attach: unknown): Upgrades {
  const open = new Set<Socket>();
  const told = new WeakSet<Socket>();
  if (typeof attach === "function") {
    // First, so the socket is known before the user's listener takes it over.
    server.on("upgrade", (request: IncomingMessage, socket: Socket) => {
      if (!request.headers.upgrade?.toLowerCase().includes("websocket")) return;
      open.add(socket);
      socket.once("close", () => open.delete(socket));
    });
    (attach as (server: Server) => void)(server);
  }
  return {
    get size() {
      return open.size;
    },
    goingAway() {
      for (const socket of open) {
        if (told.has(socket) || !socket.writable) continue;
        told.add(socket);
        socket.write(goingAwayFrame());
      }
    },
  };
}
