/**
 * The Bun adapter, on `Bun.serve`.
 *
 * - In flight: from arrival until the handler settled; a streaming body still being sent
 *   counts through `server.pendingRequests`. That count drops a request whose client left
 *   while its handler still runs, so `pending()` adds those back (the requests whose handler
 *   runs and whose `request.signal` aborted). `inFlight()` is the larger of that and the
 *   core's count, plus the open WebSockets.
 * - `ctx.signal` follows `request.signal`, which Bun aborts only when the client leaves.
 * - `stop(false)` waits forever for open WebSockets, so the adapter tracks them and closes
 *   them with `1001 Going Away` when the listener closes; `stop(true)` forces.
 * - `stop(false)` waits for every open connection (oven-sh/bun#35130) and closes idle ones
 *   (#37074), but not those that carry no request and are not idle to Bun: a request head
 *   still arriving (spared by design), the unread body of a request already answered, a silent
 *   connection accepted 2 s or more before (one 100 ms old is closed; Bun 1.4.5, no upstream
 *   issue found). Bun names no connection, so {@linkcode ARRIVAL_GRACE_MS} after the listener
 *   closed, once nothing is in flight, `stop(true)` closes what is left.
 *
 * @module
 */

import type { Adapter, AdapterSetup, Host } from "../core/adapter.ts";
import { Context } from "../core/context.ts";
import { errorResponse, withConnectionClose } from "../core/responses.ts";
import { instead, unsendable, withoutDecodedEncoding } from "./native_send.ts";
import type { ListenAddress, RemoteAddress } from "../core/types.ts";
import { bunRequest } from "./bun_url.ts";
import { badRequestResponse } from "./request_url.ts";

interface ServerWebSocket {
  close(code?: number, reason?: string): void;
}

interface WebSocketHandler {
  open?(ws: ServerWebSocket): unknown;
  close?(ws: ServerWebSocket, code: number, reason: string): unknown;
  [key: string]: unknown;
}

interface BunServer {
  readonly hostname: string;
  readonly port: number;
  readonly url: URL;
  readonly pendingRequests: number;
  requestIP(request: Request): { address: string; port: number } | null;
  stop(force?: boolean): Promise<void>;
}

interface BunLike {
  serve(options: {
    port: number;
    hostname: string;
    reusePort?: boolean;
    fetch: (request: Request, server: BunServer) => Response | Promise<Response>;
    websocket?: WebSocketHandler;
    tls?: { cert: string; key: string };
    error?: (error: unknown) => Response;
  }): BunServer;
}

const Bun = (globalThis as unknown as { Bun: BunLike }).Bun;

/**
 * How long after the listener closed connections without a request in flight may stay: a
 * request head that completes in time is answered. The same bound as the Node adapter's (see
 * there): far below `drainTimeout`'s default, so such a connection never holds the drain.
 */
const ARRIVAL_GRACE_MS = 1_000;

/**
 * After the grace, how often to look again while something is in flight: Bun tells nothing
 * when a streaming body ends (`pendingRequests` just drops). Only during a drain, and bounded
 * by its deadline.
 */
const RECHECK_MS = 100;

/**
 * `ctx` on Bun: `server` for `hono/bun`'s helpers; `remoteAddr` asks `server.requestIP()`
 * (a native call) only when read.
 */
class BunContext extends Context {
  readonly server: BunServer;
  readonly #request: Request;
  #remoteAddr: RemoteAddress | undefined = undefined;

  constructor(shutdown: AbortSignal, request: Request, server: BunServer) {
    super(shutdown);
    this.server = server;
    this.#request = request;
  }

  get remoteAddr(): RemoteAddress {
    if (this.#remoteAddr === undefined) {
      const ip = this.server.requestIP(this.#request);
      this.#remoteAddr = { transport: "tcp", hostname: ip?.address ?? "", port: ip?.port ?? 0 };
    }
    return this.#remoteAddr;
  }

  protected override watchClient(): void {
    // Bun aborts request.signal only when the client leaves.
    const signal = this.#request.signal;
    const onAbort = () => Context.clientGone(this);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
}

/** The handler's request by the URL rule (`bun_url.ts`), or `400` without calling it. */
function handleChecked(
  host: Host,
  received: Request,
  server: BunServer,
  running: Set<Request>,
  origin: string,
): Response | Promise<Response> {
  const request = bunRequest(received, origin);
  if (request === undefined) return badRequestResponse();
  return handle(host, request, server, running, received);
}

function handle(
  host: Host,
  request: Request,
  server: BunServer,
  running: Set<Request>,
  received: Request,
): Response | Promise<Response> {
  // `server.requestIP()` and `server.upgrade()` know only the request Bun made.
  const opened = host.open(request, new BunContext(host.signal, received, server));
  if (opened instanceof Response) return host.draining ? withConnectionClose(opened) : opened;
  const exchange = opened;
  const response = exchange.respond();
  if (response instanceof Response && unsendable(response) === undefined) {
    exchange.end();
    return host.draining ? withConnectionClose(response) : response;
  }
  running.add(request);
  const settle = (response: Response) => {
    running.delete(request);
    exchange.end();
    return host.draining ? withConnectionClose(response) : response;
  };
  // What Bun cannot send is answered through onError instead (native_send.ts).
  return Promise.resolve(response).then((answer) => {
    const response = withoutDecodedEncoding(answer);
    const error = unsendable(response);
    return error === undefined ? settle(response) : instead(exchange, error).then(settle);
  });
}

/**
 * `Bun.serve`'s `error` callback: Bun calls it for a response it refuses that
 * {@linkcode unsendable} cannot see (a body locked by a reader). Bun does not say for which
 * request, so the warning names none; the client gets lameduck's `500`, not Bun's development
 * error page (Bun 1.4.5 without `NODE_ENV=production`: 50 KB with the working directory and
 * the error).
 */
function refused(host: Host, error: unknown): Response {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  host.log({ type: "warning", message: `Bun.serve could not send a response: ${detail}` });
  return errorResponse();
}

/**
 * Wraps the user's WebSocket handlers to keep the set of open sockets. `handler` passed
 * `serve()`'s check: `undefined`, an object or a function (`node:http`'s, ignored here).
 */
function tracked(
  host: Host,
  handler: unknown,
  sockets: Set<ServerWebSocket>,
): WebSocketHandler | undefined {
  if (handler === undefined) return undefined;
  if (typeof handler === "function") {
    host.log({
      type: "warning",
      message: "websocket: a function attaches an upgrade listener on node:http; " +
        "Bun.serve takes its handler object (e.g. `websocket` from hono/bun): ignored",
    });
    return undefined;
  }
  const user = handler as WebSocketHandler;
  return {
    ...user,
    open(ws) {
      sockets.add(ws);
      return user.open?.(ws);
    },
    close(ws, code, reason) {
      sockets.delete(ws);
      return user.close?.(ws, code, reason);
    },
  };
}

/** Creates the Bun adapter (`setup.overrideGlobals` is the Node bridge's). */
export function createAdapter(_setup?: AdapterSetup): Adapter {
  let server: BunServer | undefined;
  let closed: Promise<void> | undefined;
  const sockets = new Set<ServerWebSocket>();
  /** Requests whose handler has not settled. */
  const running = new Set<Request>();
  const pending = (): number => {
    if (!server) return 0;
    let orphans = 0;
    for (const request of running) if (request.signal.aborted) orphans++;
    return server.pendingRequests + orphans;
  };
  return {
    runtime: "bun",
    listen({ port, hostname, websocket, tls, reusePort }, host): Promise<ListenAddress> {
      const ws = tracked(host, websocket, sockets);
      let origin = "";
      server = Bun.serve({
        port,
        hostname,
        ...(reusePort ? { reusePort } : {}),
        fetch: (request, server) => handleChecked(host, request, server, running, origin),
        error: (error) => refused(host, error),
        ...(ws ? { websocket: ws } : {}),
        ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      });
      origin = server.url.origin;
      return Promise.resolve({
        hostname: server.hostname,
        port: server.port,
        url: server.url.href,
      });
    },
    close(): Promise<void> {
      if (closed) return closed;
      const stopping = server;
      if (!stopping) return closed = Promise.resolve();
      let stopped = false;
      closed = stopping.stop(false).finally(() => {
        stopped = true;
        clearTimeout(timer);
      });
      for (const ws of sockets) ws.close(1001, "Server shutting down");
      // What stop(false) still waits for once nothing is in flight carries no request.
      const sweep = () => {
        if (stopped) return;
        if (pending() + sockets.size > 0) timer = setTimeout(sweep, RECHECK_MS);
        else stopping.stop(true).catch(() => {});
      };
      let timer = setTimeout(sweep, ARRIVAL_GRACE_MS);
      return closed;
    },
    force(): void {
      // Bun writes a Response returned through a promise one turn after the promise settles:
      // a forced 503 handed over just now is written first.
      setTimeout(() => server?.stop(true).catch(() => {}), 0);
    },
    inFlight(requests: number, answering: number): number {
      return Math.max(requests, pending() - answering) + sockets.size;
    },
  };
}
