/**
 * lameduck serves a fetch-style handler (Hono's `app.fetch`, or any
 * `(request, ctx) => Response`) on Deno, Bun and Node behind one {@linkcode serve}, and shuts it
 * down without dropping a request.
 *
 * On `SIGTERM`/`SIGINT` it fails readiness, keeps serving through an optional lame-duck window
 * (every response says `Connection: close`), stops accepting, closes idle keep-alive
 * connections, lets in-flight requests and streams finish, forces at a deadline, runs cleanup
 * hooks last-registered first, and exits `0` when everything ended by itself, `1` otherwise.
 *
 * @example Serve a handler and clean up after the drain
 * ```ts
 * import { serve } from "@lameduck/lameduck";
 *
 * const server = serve({
 *   fetch: () => new Response("hello"),
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   readiness: "/readyz",
 *   logger: false,
 * });
 * server.onShutdown(() => console.log("pool closed"), { name: "db" });
 * const { url } = await server.ready;
 * console.log(await (await fetch(url)).text()); // "hello"
 * const report = await server.shutdown();
 * console.log(report.graceful); // true
 * ```
 *
 * @module
 */

export { serve } from "./src/serve.ts";
export type {
  FetchHandler,
  HookOptions,
  HookReport,
  LifecycleEvent,
  ListenAddress,
  Logger,
  NodeListener,
  ReadinessCheck,
  ReadinessOptions,
  RemoteAddress,
  RequestContext,
  Runtime,
  ServeOptions,
  Server,
  ServerState,
  ShutdownOptions,
  ShutdownReason,
  ShutdownReport,
  ShutdownSignal,
  TlsOptions,
} from "./src/core/types.ts";
