/**
 * The Deno adapter, on `Deno.serve`.
 *
 * - In flight: from arrival until both the handler settled and `info.completed` resolved
 *   (it resolves after a stream's last byte or its cancel; it cannot tell them apart).
 * - `ctx.signal`: `request.signal` is also aborted after every *successful* response (legacy
 *   behaviour, unless `--unstable-no-legacy-abort`), so it is only trusted while the handler
 *   runs. After that, a disconnect is only visible to the body stream: when the handler has
 *   read `ctx.signal`, its body goes through lameduck's stream (sent chunked) to see it. No
 *   public API tells a static body from a stream one, so bodies are not wrapped otherwise.
 * - Forcing: impossible once `shutdown()` began (aborting `Deno.serve`'s `signal` then crashes
 *   the process, deno#25792). The core answers handlers that never respond with a 503 and
 *   aborts their `ctx.signal`; a stream that ignores its signal is cut by the process exit.
 *
 * @module
 */

import type { Adapter, Host } from "../core/adapter.ts";
import { withConnectionClose } from "../core/responses.ts";
import { plaintextRequest } from "./plaintext_url.ts";
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
      onListen: (address: { hostname: string; port: number }) => void;
    },
    handler: (request: Request, info: ServeHandlerInfo) => Response | Promise<Response>,
  ): HttpServer;
}

const Deno = (globalThis as unknown as { Deno: DenoLike }).Deno;

function urlOf(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
}

function handle(
  host: Host,
  request: Request,
  info: ServeHandlerInfo,
): Response | Promise<Response> {
  const opened = host.open(request, {
    remoteAddr: info.remoteAddr,
    clientSignal: () => request.signal,
    clientSignalAfterResponse: false,
  });
  if (opened instanceof Response) return host.draining ? withConnectionClose(opened) : opened;
  const exchange = opened;
  const response = exchange.run().then((response) => {
    // A handler that read ctx.signal wants to hear of a disconnect mid-body, which Deno only
    // tells the body stream (request.signal also aborts after success): pass it through ours.
    if (exchange.signalUsed && response.status !== 101) response = exchange.track(response);
    return host.draining ? withConnectionClose(response) : response;
  });
  const end = () => exchange.end();
  Promise.all([response, info.completed]).then(end, end);
  return response;
}

/** Creates the Deno adapter. */
export function createAdapter(): Adapter {
  let server: HttpServer | undefined;
  let closed: Promise<void> | undefined;
  return {
    runtime: "deno",
    listen({ port, hostname }, host): Promise<ListenAddress> {
      return new Promise((resolve, reject) => {
        try {
          server = Deno.serve({
            port,
            hostname,
            onListen: (address) =>
              resolve({
                hostname: address.hostname,
                port: address.port,
                url: urlOf(address.hostname, address.port),
              }),
          }, (request, info) => handle(host, plaintextRequest(request), info));
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
  };
}
