/**
 * The Node adapter, on `node:http` with lameduck's own bridge to `Request`/`Response` and its
 * own socket bookkeeping; on Deno and Bun it serves an inherited socket through their
 * `node:http`. This file chooses the server and drives its lifecycle; the request path is
 * `handle.ts`, the connections `connections.ts`, the bridge `request.ts` and `response.ts`.
 * With `overrideGlobals` (the default on Node) the handler gets a lazy `Request` and a
 * `new Response(string)` is written without web streams (`globals.ts`); without it, native
 * objects both ways. With `tls` on Node it serves HTTP/2 and HTTP/1.1 on one port
 * (`http2.ts`): HTTP/1.1 connections are handled as usual, HTTP/2 sessions get GOAWAY when the
 * listener closes and are destroyed when forced.
 *
 * @module
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createSecureServer, type ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, Server as NetServer, type Socket } from "node:net";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import type { Adapter, AdapterSetup } from "../../core/adapter.ts";
import type { ListenAddress } from "../../core/types.ts";
import { ConnectionBook, FIRST_REQUEST_GRACE_MS } from "./connections.ts";
import { installGlobals } from "./globals.ts";
import { createHandle, internalError } from "./handle.ts";
import { closingResponse, createListenerHandle } from "./listener.ts";
import { H2Request, H2Response, type Sessions, trackSessions } from "./http2.ts";
import { trackUpgrades, type Upgrades } from "./upgrade.ts";

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
 * Creates the Node adapter. `setup.runtime` is the runtime whose `node:http` serves: HTTP/2 is
 * served on Node only (Deno's and Bun's `node:http2` servers are not what their own servers
 * are: Deno.serve negotiates HTTP/2 by itself; Bun.serve has none), and Bun's inherited socket
 * is bridged from `node:net` (`bridgeConnections`).
 */
export function createAdapter(setup: AdapterSetup): Adapter {
  const onBun = setup.runtime === "bun";
  const onNode = setup.runtime === "node";
  let server: Server | undefined;
  /** What accepts connections: `server`, or on Bun with an inherited socket a `net.Server`. */
  let listener: Server | NetServer | undefined;
  let closed: Promise<void> | undefined;
  const book = new ConnectionBook();
  const handle = createHandle(book, onNode);
  let upgrades: Upgrades | undefined;
  /** HTTP/2 sessions, with `tls` on Node. */
  let sessions: Sessions | undefined;

  return {
    runtime: "node",
    listen(
      { port, hostname, fd, tls, websocket, reusePort, listener: app },
      host,
    ): Promise<ListenAddress> {
      const scheme = tls ? "https" : "http";
      // A listener gets node:http's objects: no globals replaced, no Request built.
      if (setup.overrideGlobals && app === undefined) installGlobals();
      return new Promise((resolve, reject) => {
        // node:https's server is node:http's with TLS in front: same requests, same sockets.
        const bridged = fd !== undefined && onBun;
        // With TLS on Node, HTTP/2 and HTTP/1.1 on one port (ALPN decides); HTTP/1.1
        // connections get node:http's objects from it, HTTP/2 streams the compat ones.
        // A listener (Express, Koa, Fastify) expects node:http's objects: HTTP/1.1 only.
        const h2 = tls !== undefined && onNode && app === undefined;
        const options = app === undefined ? {} : { ServerResponse: closingResponse(host) };
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
          ? createHttpsServer({ ...options, cert: tls.cert, key: tls.key }) as unknown as Server
          : createServer(options);
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
            const connection = book.get(socket);
            if (connection) connection.active++;
          });
        }
        let origin = `${scheme}://${hostname}:${port}`;
        // With TLS, the socket a request arrives on is the TLS socket of `secureConnection`.
        s.on(tls && !bridged ? "secureConnection" : "connection", (socket: Socket) => {
          // An HTTP/2 connection is its session's (`sessions`).
          if (h2 && (socket as TLSSocket).alpnProtocol === "h2") return;
          book.accept(socket);
        });
        if (app !== undefined) {
          const serveListener = createListenerHandle(book, app);
          s.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
            try {
              serveListener(host, incoming, outgoing);
            } catch (error) {
              internalError(host, error, outgoing);
            }
          });
        } else {
          s.on("request", (incoming: IncomingMessage, outgoing: ServerResponse) => {
            try {
              handle(host, origin, incoming, outgoing);
            } catch (error) {
              internalError(host, error, outgoing);
            }
          });
        }
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
      book.closing = true;
      closed = new Promise<void>((resolve) => {
        if (!listener) return resolve();
        // net.Server's close, not http.Server's: that one also destroys every connection
        // without a parsed request, including new ones whose request is still in the kernel.
        // Idle connections are closed by the book instead (`ConnectionBook.close`).
        // Bun's node:http server is no net.Server (Bun 1.4.5: net.Server's close throws on it,
        // no upstream issue found); its own close() stops accepting and closes idle
        // connections only, letting requests in flight finish (measured).
        if (listener instanceof NetServer) {
          NetServer.prototype.close.call(listener, () => resolve());
        } else (listener as Server).close(() => resolve());
        book.close();
        sessions?.close();
        upgrades?.goingAway();
      });
      return closed;
    },
    force(): void {
      book.closing = true;
      // A forced answer written just now gets one turn to leave (an HTTP/2 stream's frames are
      // sent from the event loop, not at the write).
      setTimeout(() => {
        // An HTTP/2 server has no closeAllConnections: its HTTP/1.1 sockets are in `book`.
        (server as Partial<Server> | undefined)?.closeAllConnections?.();
        book.force();
        sessions?.force();
      }, 0);
    },
    inFlight(requests: number): number {
      return requests + (upgrades?.size ?? 0);
    },
  };
}
