/**
 * The Deno adapter, on `Deno.serve`.
 *
 * - In flight: from arrival until `info.completed` resolves, which happens after the handler
 *   settled and the body's last byte or its cancel (it cannot tell them apart).
 * - `ctx.signal`: `request.signal` is also aborted after every *successful* response (legacy
 *   behaviour, unless `--unstable-no-legacy-abort`), so it is only trusted while the handler
 *   runs. After that, a disconnect is only visible to the body stream: when the handler has
 *   read `ctx.signal`, its body goes through lameduck's stream (sent chunked) to see it. No
 *   public API tells a static body from a stream one, so bodies are not wrapped otherwise.
 * - Forcing: impossible once `shutdown()` began (aborting `Deno.serve`'s `signal` then crashes
 *   the process, deno#25792). The core answers handlers that never respond with a 503 and
 *   aborts their `ctx.signal`; a body in lameduck's stream is cut; any other stream that
 *   ignores its signal is cut by the process exit.
 *
 * @module
 */

import type { Adapter, AdapterSetup, Host } from "../core/adapter.ts";
import { Context } from "../core/context.ts";
import type { Exchange } from "../core/exchange.ts";
import { withConnectionClose } from "../core/responses.ts";
import { denoRequest } from "./deno_url.ts";
import { instead, unsendable } from "./native_send.ts";
import { badRequestResponse } from "./request_url.ts";
import type { ListenAddress, RemoteAddress } from "../core/types.ts";

interface ServeHandlerInfo {
  remoteAddr: RemoteAddress;
  completed: Promise<void>;
}

interface HttpServer {
  shutdown(): Promise<void>;
}

interface DenoLike {
  serve(
    options: {
      port: number;
      hostname: string;
      cert?: string;
      key?: string;
      reusePort?: boolean;
      onListen: (address: { hostname: string; port: number }) => void;
    },
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): HttpServer;
}

const Deno = (globalThis as unknown as { Deno: DenoLike }).Deno;

/**
 * `reusePort` needs `--unstable-net`; without it `Deno.serve` ends the process (exit 70)
 * instead of throwing. The flag also exposes `Deno.listenDatagram`, so its presence tells.
 */
function reusePortError(): Error | undefined {
  if (typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function") {
    return undefined;
  }
  return new Error(
    "reusePort (lameduck run --handover reuseport) needs Deno's --unstable-net flag",
  );
}

function urlOf(scheme: string, hostname: string, port: number): string {
  return `${scheme}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
}

/**
 * `ctx` on Deno: `remoteAddr` as `Deno.serve` gives it (what `hono/deno` reads too), asked of
 * Deno (an op call) only when read. Deno answers only while the request is open: read after
 * that for the first time, it is an empty address.
 */
class DenoContext extends Context {
  readonly #request: Request;
  readonly #info: ServeHandlerInfo;
  #remoteAddr: RemoteAddress | undefined = undefined;

  constructor(shutdown: AbortSignal, request: Request, info: ServeHandlerInfo) {
    super(shutdown);
    this.#request = request;
    this.#info = info;
  }

  get remoteAddr(): RemoteAddress {
    if (this.#remoteAddr === undefined) {
      try {
        this.#remoteAddr = this.#info.remoteAddr;
      } catch {
        this.#remoteAddr = { transport: "tcp", hostname: "", port: 0 };
      }
    }
    return this.#remoteAddr;
  }

  protected override watchClient(): void {
    const signal = this.#request.signal;
    // After a successful response the abort is Deno's legacy behaviour, not a disconnect.
    const onAbort = () => {
      if (!this.responded) Context.clientGone(this);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  }
}

/**
 * Returns `response` with its body passed through a stream of lameduck's, so a client that
 * leaves mid-body aborts `ctx.signal` and a forced shutdown can cut the body.
 */
function track(exchange: Exchange, response: Response): Response {
  const body = response.body;
  if (body === null) return response;
  const reader = body.getReader();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  exchange.onForce = (reason) => {
    controller.error(reason);
    reader.cancel(reason).catch(() => {});
  };
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    pull: async (c) => {
      try {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch (error) {
        exchange.cut(error);
        c.error(error);
      }
    },
    cancel: (reason) => {
      exchange.clientGone();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(stream, response);
}

/**
 * The last touch on every response: what Deno cannot send is answered through `onError`
 * (native_send.ts), then the body tracking and `Connection: close`.
 */
function finish(
  host: Host,
  exchange: Exchange,
  response: Response,
): Response | Promise<Response> {
  const error = unsendable(response);
  if (error !== undefined) {
    return instead(exchange, error).then((answer) =>
      host.draining ? closing(exchange.request, answer) : answer
    );
  }
  // A handler that read ctx.signal wants to hear of a disconnect mid-body, which Deno only
  // tells the body stream (request.signal also aborts after success): pass it through ours.
  if (exchange.signalUsed && response.status !== 101) response = track(exchange, response);
  return host.draining ? closing(exchange.request, response) : response;
}

/**
 * `Connection: close` while draining. Deno writes one of its own when the request asked for
 * it: a second made `Connection: close, close` (Deno 2.9.6; regression test in
 * tests/contract/cases_exit.ts). Headers are read only while draining: on Deno that costs.
 */
function closing(request: Request, response: Response): Response {
  const asked = request.headers.get("connection");
  if (asked !== null && /(?:^|,)\s*close\s*(?:,|$)/i.test(asked)) return response;
  return withConnectionClose(response);
}

/** The handler's request by the URL rule (`deno_url.ts`), or `400` without calling it. */
function handleChecked(
  host: Host,
  received: Request,
  info: ServeHandlerInfo,
  origin: string,
  plaintext: boolean,
): Response | Promise<Response> {
  const request = denoRequest(received, origin, plaintext);
  return request === undefined ? badRequestResponse() : handle(host, request, info);
}

function handle(
  host: Host,
  request: Request,
  info: ServeHandlerInfo,
): Response | Promise<Response> {
  const opened = host.open(request, new DenoContext(host.signal, request, info));
  if (opened instanceof Response) return host.draining ? closing(request, opened) : opened;
  const exchange = opened;
  // `completed` settles after the handler and the body: one end for both.
  const end = () => exchange.end();
  info.completed.then(end, end);
  const response = exchange.respond();
  if (response instanceof Response) return finish(host, exchange, response);
  return response.then((response) => finish(host, exchange, response));
}

/** Creates the Deno adapter (`setup.overrideGlobals` is the Node bridge's). */
export function createAdapter(_setup?: AdapterSetup): Adapter {
  let server: HttpServer | undefined;
  let closed: Promise<void> | undefined;
  return {
    runtime: "deno",
    listen({ port, hostname, tls, reusePort }, host): Promise<ListenAddress> {
      const scheme = tls ? "https" : "http";
      let origin = "";
      return new Promise((resolve, reject) => {
        const unsupported = reusePort ? reusePortError() : undefined;
        if (unsupported) return reject(unsupported);
        try {
          server = Deno.serve(
            {
              port,
              hostname,
              ...(tls ? { cert: tls.cert, key: tls.key } : {}),
              ...(reusePort ? { reusePort } : {}),
              onListen: (address) => {
                const url = urlOf(scheme, address.hostname, address.port);
                origin = url.slice(0, -1);
                resolve({ hostname: address.hostname, port: address.port, url });
              },
            },
            (request, info) => handleChecked(host, request, info, origin, !tls),
          );
        } catch (error) {
          reject(error);
        }
      });
    },
    close(): Promise<void> {
      closed ??= server ? server.shutdown() : Promise.resolve();
      return closed;
    },
    force(): void {
      // Nothing to do: see the module doc (deno#25792).
    },
    inFlight(requests: number): number {
      // `info.completed` ends each exchange: the core's count is Deno's.
      return requests;
    },
  };
}
