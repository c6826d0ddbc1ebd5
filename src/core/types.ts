/**
 * The public types of lameduck. Runtime-free: nothing here touches `Deno`, `Bun` or `node:*`.
 *
 * @module
 */

/** The runtime a {@linkcode Server} runs on. */
export type Runtime = "deno" | "bun" | "node";

/** Where a server listens, once it does. */
export interface ListenAddress {
  /** The bound host name or address, as the runtime reports it. */
  hostname: string;
  /** The bound port (the real one when `port: 0` was asked for). */
  port: number;
  /** A URL for the server, e.g. `http://127.0.0.1:8000/`. */
  url: string;
}

/** The peer of a request. */
export interface RemoteAddress {
  /** Always `"tcp"`. */
  transport: "tcp";
  /** The client's address. */
  hostname: string;
  /** The client's port. */
  port: number;
}

/**
 * The second argument of `fetch`. It also carries what each runtime's Hono adapter reads from
 * `c.env` (Bun: `server`; Node: `incoming`, `outgoing`), so Hono's `getConnInfo` and
 * `upgradeWebSocket` keep working unchanged.
 *
 * @example Stop work when the client leaves, and greet by address
 * ```ts
 * import { serve } from "@lameduck/lameduck";
 * import type { RequestContext } from "@lameduck/lameduck";
 *
 * async function handler(_request: Request, ctx: RequestContext): Promise<Response> {
 *   // ctx.signal aborts if the client disconnects or the drain is forced.
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 *   if (ctx.signal.aborted) return new Response(null, { status: 499 });
 *   return new Response(`hello ${ctx.remoteAddr.hostname}`);
 * }
 *
 * const server = serve({ fetch: handler, port: 0, hostname: "127.0.0.1", logger: false });
 * const { url } = await server.ready;
 * console.log(await (await fetch(url)).text()); // "hello 127.0.0.1"
 * await server.shutdown();
 * ```
 */
export interface RequestContext {
  /**
   * Aborts when the client goes away before the response is finished, or when the server
   * forces its shutdown. Unlike Deno's `request.signal`, it never aborts after a successful
   * response.
   */
  readonly signal: AbortSignal;
  /** The server's {@linkcode Server.signal}: aborts when shutdown starts. */
  readonly shutdown: AbortSignal;
  /** The client's address. */
  readonly remoteAddr: RemoteAddress;
  /** Runtime objects for Hono's helpers (`server` on Bun, `incoming`/`outgoing` on Node). */
  readonly [key: string]: unknown;
}

/** The request handler: the same shape as Hono's `app.fetch`. */
export type FetchHandler = (
  request: Request,
  ctx: RequestContext,
) => Response | Promise<Response>;

/**
 * A Node request listener, `(req, res) => void` with `node:http`'s `IncomingMessage` and
 * `ServerResponse`: an Express or Connect app, Koa's `app.callback()`, Fastify's `app.routing`
 * (after `await app.ready()`), NestJS's `app.getHttpAdapter().getInstance()` (after
 * `await app.init()`). Typed with `never` parameters so that any two-argument listener fits
 * without lameduck depending on `@types/node`.
 */
export type NodeListener = (req: never, res: never) => unknown;

/** Why a shutdown started. */
export type ShutdownReason = string;

/** The result of one cleanup hook. */
export interface HookReport {
  /** The hook's name (`hook 1`, `hook 2`, ... when none was given). */
  name: string;
  /** `true` when the hook resolved within its timeout. */
  ok: boolean;
  /** How long it ran, in milliseconds. */
  durationMs: number;
  /** Why it failed: what it threw, or a timeout message. */
  error?: string;
}

/** What {@linkcode Server.finished} resolves with. */
export interface ShutdownReport {
  /** What started the shutdown: a signal name, `"shutdown()"`, `"close()"`, or the given reason. */
  reason: ShutdownReason;
  /** `true` when every request finished by itself; `false` when some were cut. */
  graceful: boolean;
  /** From the start of the shutdown to `closed`, in milliseconds. */
  durationMs: number;
  /** Requests that finished during the drain. */
  completed: number;
  /** Requests cut when the drain was forced. */
  aborted: number;
  /** One entry per hook, in the order they ran. */
  hooks: HookReport[];
}

/** The structured events a `logger` function receives. */
export type LifecycleEvent =
  | { type: "listening"; address: ListenAddress; runtime: Runtime }
  | {
    type: "draining";
    reason: ShutdownReason;
    inFlight: number;
    /** The lame-duck window that starts now, in milliseconds (`0`: none). */
    lameDuckMs: number;
    /** How long the drain may last once the listener closes, in milliseconds. */
    drainTimeoutMs: number;
    /** The signals that force the shutdown from now on (none with `signals: false`). */
    signals: readonly string[];
  }
  | { type: "progress"; inFlight: number; elapsedMs: number }
  | {
    type: "forced";
    inFlight: number;
    /** `"deadline"` (drainTimeout passed), `"close()"`, or the second signal's name. */
    cause: string;
    elapsedMs: number;
  }
  /** A hook ended; when it failed, `error` is what it threw (or the timeout's error). */
  | { type: "hook"; hook: HookReport; error?: unknown }
  /**
   * `fetch` (or `onError`) failed, or, with `stage: "send"`, the response it returned could not
   * be sent: answered through `onError` when nothing was written yet, else the connection was
   * cut after the head (the error says which).
   */
  | { type: "error"; error: unknown; request?: Request; stage?: "send" }
  /** The server never listened (`ready` rejected with `error`); nothing was served. */
  | { type: "failed"; error: unknown; address: string }
  /** Closed; `exitCode` is there when lameduck now exits the process with it. */
  | { type: "closed"; report: ShutdownReport; exitCode?: number }
  /** Something configured cannot take effect (e.g. `websocket` on an inherited socket). */
  | { type: "warning"; message: string };

/**
 * Options of {@linkcode ServeOptions.logger}: `false`, `"json"`, or a function. The events a
 * function receives serialise with `JSON.stringify(event)` as plain data: an error as
 * `{ name, message, stack }`, a request as `{ method, url }`.
 */
export type Logger = false | "json" | ((event: LifecycleEvent) => void);

/**
 * A readiness check: it passes when it returns or resolves with anything but `false`, and
 * fails when it throws, rejects or gives `false`.
 */
export type ReadinessCheck = () => unknown;

/** The object form of {@linkcode ServeOptions.readiness}. */
export interface ReadinessOptions {
  /** The probe's path, e.g. `"/readyz"`. */
  path: string;
  /**
   * Named checks (a database ping, a cache). A probe runs them all at once, on demand;
   * probes that arrive while a run is in flight share it, and a check still running from an
   * earlier probe is joined, never called again.
   * @default {{}}
   */
  checks?: Record<string, ReadinessCheck>;
  /**
   * How long a probe waits for the checks, in milliseconds; a check that takes longer fails
   * the probe (`"timed out after 500 ms"`). Keep it below the probe's own `timeoutSeconds`.
   * @default {500}
   */
  timeout?: number;
}

/**
 * Options of `serve()`. Every invalid option throws a `TypeError` or `RangeError` at the call,
 * naming the option and the value.
 *
 * @example Behind a Kubernetes Service: fail readiness first, then drain
 * ```ts
 * import { serve } from "@lameduck/lameduck";
 * import type { ServeOptions } from "@lameduck/lameduck";
 *
 * const options: ServeOptions = {
 *   fetch: () => new Response("ok"),
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   readiness: { path: "/readyz", checks: { db: () => true }, timeout: 500 }, // readinessProbe
 *   liveness: "/livez", // livenessProbe: still 200 while draining
 *   metrics: "/metrics", // Prometheus scrape
 *   lameDuck: 5_000, // > probe period × failureThreshold: endpoints drop the pod first
 *   drainTimeout: 20_000, // lameDuck + drainTimeout + hooks < terminationGracePeriodSeconds
 *   logger: false,
 * };
 * const server = serve(options);
 * const { url } = await server.ready;
 * console.log((await fetch(new URL("/readyz", url))).status); // 200
 * console.log((await fetch(new URL("/livez", url))).status); // 200
 * console.log((await (await fetch(new URL("/metrics", url))).text()).includes("lameduck_state"));
 * await server.close();
 * ```
 */
export interface ServeOptions {
  /**
   * The request handler, e.g. Hono's `app.fetch`. Exactly one of `fetch` and `listener` is
   * given. A Node listener passed here throws a `TypeError` naming `listener` (see
   * {@linkcode ServeOptions.listener}).
   * @example `fetch: app.fetch` (Hono, h3)
   */
  fetch?: FetchHandler;
  /**
   * A Node request listener `(req, res)` to serve instead of `fetch` (an Express app, Koa's
   * `app.callback()`, Fastify's `app.routing` after `await app.ready()`), on `node:http` on
   * every runtime (Deno's and Bun's `node:http` included). It gets Node's own `req` and `res`;
   * `server.signal` is its shutdown signal. The contract is the same as for `fetch`: probes
   * and `maxInFlight` are answered before the listener, a request is in flight until its `res`
   * closes (a `res.write` loop, SSE, a piped file), and every response written once shutdown
   * started says `Connection: close` (a header of the app's own is replaced, never doubled).
   * With `tls` it serves HTTPS over HTTP/1.1 (frameworks expect `node:http`'s objects).
   * `onError` is not called: the listener answers its own errors; one it throws
   * synchronously or rejects is logged and answered `500` when nothing was sent yet.
   *
   * What `fetch` refuses as a Node listener: a function with `handle`, `use` and `listen`
   * methods (an Express or Connect app), a function named `handleRequest` (Koa's
   * `app.callback()`), and objects with `callback` (a Koa app), `routing` and `ready` (a
   * Fastify instance) or `getHttpAdapter` (a NestJS app) methods. A plain `(req, res)`
   * function cannot be told from a `(request, ctx)` fetch handler without calling it: pass it
   * as `listener`.
   * @default {undefined}
   * @example `listener: express().get("/", (_req, res) => res.send("hi"))`
   */
  listener?: NodeListener;
  /**
   * The port to listen on; `0` picks a free one.
   * @default {8000}
   */
  port?: number;
  /**
   * The address to listen on.
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /**
   * The signals that start a graceful shutdown; a second one forces it. `false` installs no
   * listener. Listeners are removed when the server closes.
   * @default {["SIGINT", "SIGTERM"]}
   */
  signals?: readonly ShutdownSignal[] | false;
  /**
   * After shutdown starts, keep accepting and serving this long (readiness already answers
   * 503, every response says `Connection: close`) so load balancers can notice.
   * @default {0}
   */
  lameDuck?: number;
  /**
   * After the listener closes, wait at most this long for in-flight requests; then force.
   * @default {10_000}
   */
  drainTimeout?: number;
  /**
   * A path (e.g. `"/readyz"`) whose `GET`/`HEAD` answer `200` while serving and `503` once
   * shutdown starts, without calling `fetch`. `false` for none. The object form
   * (`{ path, checks, timeout }`, {@linkcode ReadinessOptions}) also answers `503` while a
   * check fails or exceeds `timeout`, with a JSON body naming each check and its error:
   * `{"status":"failing","checks":{"db":{"ok":false,"error":"connection refused"}}}`. A check
   * never delays the drain: once shutdown starts, probes answer `503` without waiting.
   * @default {false}
   * @example
   * ```ts ignore
   * readiness: { path: "/readyz", checks: { db: () => pool.query("select 1") }, timeout: 500 }
   * ```
   */
  readiness?: string | false | ReadinessOptions;
  /**
   * A path (e.g. `"/livez"`) whose `GET`/`HEAD` answer `200` while serving **and while
   * draining** (a draining process must not be killed by its liveness probe), without calling
   * `fetch`. It runs no checks: a process that answers is alive. `false` for none.
   * @default {false}
   * @example
   * ```ts ignore
   * liveness: "/livez"
   * ```
   */
  liveness?: string | false;
  /**
   * A path (e.g. `"/metrics"`) whose `GET`/`HEAD` answer the Prometheus text exposition
   * (format 0.0.4), without calling `fetch`: `lameduck_http_server_active_requests` (in
   * flight, OpenTelemetry's `http.server.active_requests`), `lameduck_state{state}`,
   * `lameduck_drain_requests_total{outcome}` and `lameduck_drain_duration_seconds` (the drain
   * so far). When the app has `@opentelemetry/api` (an optional peer dependency, loaded only
   * with this option), the same instruments are recorded on its global meter provider.
   * `false` for none.
   * @default {false}
   * @example
   * ```ts ignore
   * metrics: "/metrics"
   * ```
   */
  metrics?: string | false;
  /**
   * Above this many requests in flight, answer `503` with `Retry-After` at once, without
   * calling `fetch`.
   * @default {Infinity}
   */
  maxInFlight?: number;
  /**
   * When a signal started the shutdown, exit the process after cleanup: `0` when the drain
   * was graceful and every hook succeeded, `1` otherwise. `false`: never exit.
   * @default {true}
   */
  exit?: boolean;
  /**
   * Where lameduck serves through `node:http` (Node; Deno and Bun on an inherited socket):
   * replace the global `Request`, `Response` and `fetch` with lameduck's, once, when the
   * server starts listening, never undone. The handler then gets a `Request` read lazily from
   * Node's request, and a `new Response(string | bytes | null)` is sent without web streams:
   * about 2.5x the requests per second (docs/api.md, "The Node bridge"). Both still behave as the
   * platform's own: `instanceof`, `new Request(request)`, `fetch(request)`, `clone()`, bodies.
   * `false` keeps the globals and hands out native objects. Unused by Deno's and Bun's own
   * servers.
   * @default {true} on Node, `false` on Deno and Bun
   */
  overrideGlobals?: boolean;
  /** Called once listening. By default a log line (unless `logger` is `false`). */
  onListen?: (address: ListenAddress) => void;
  /**
   * Makes the response sent when `fetch` throws or returns something that is not a
   * `Response`. By default a plain `500` without the stack; the error is logged either way.
   */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>;
  /**
   * Where lifecycle events go: concise lines on stderr by default, `false` for none, `"json"`
   * for one JSON object per line on stderr with pino's fields (`level` 30/40/50, `time` in
   * epoch ms, `msg`; an error as `err: { name, message, stack }`, a request as
   * `req: { method, path }`), or a function that receives structured
   * {@linkcode LifecycleEvent}s.
   * @default {undefined} (text lines on stderr)
   * @example
   * ```ts ignore
   * logger: "json" // {"level":30,"time":1767225600000,"msg":"listening on ...","type":"listening",...}
   * ```
   */
  logger?: Logger;
  /**
   * WebSockets. On Bun: the `websocket` handlers for `Bun.serve` (e.g. `websocket` from
   * `hono/bun`). On Node: a function that receives the `node:http` server to attach its
   * `upgrade` listener: `injectWebSocket` from `@hono/node-ws` as it is, or
   * `(server) => server.on("upgrade", ...)` for a `ws` `WebSocketServer({ noServer: true })`.
   * Deno upgrades inside `fetch` and needs nothing here. Either way lameduck counts open
   * WebSockets as in flight, closes them with `1001 Going Away` when the listener closes, and
   * cuts those still open at the deadline (counted as aborted). A value of the other runtime's
   * form is ignored there; anything else throws a `TypeError`.
   */
  websocket?: unknown;
  /**
   * Serve HTTPS with this certificate and key (PEM strings, not file paths), on every runtime
   * and on an inherited socket; `ready`'s `url` then starts with `https://`. Deno and Node
   * also offer HTTP/2 over it (ALPN; Node: `http2.createSecureServer` with `allowHTTP1`, HTTP/2
   * sessions get GOAWAY at shutdown); Bun serves HTTP/1.1, and so do Deno and Bun on an
   * inherited socket. A certificate or key the runtime cannot use rejects `ready` with the
   * runtime's error.
   * @default {undefined}
   */
  tls?: TlsOptions;
}

/** The certificate and key to serve HTTPS with (see {@linkcode ServeOptions.tls}). */
export interface TlsOptions {
  /** The certificate chain, PEM-encoded (`-----BEGIN CERTIFICATE-----...`). */
  cert: string;
  /** The private key, PEM-encoded. */
  key: string;
}

/** The signals lameduck can listen to. */
export type ShutdownSignal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT" | "SIGUSR1" | "SIGUSR2";

/** Options of {@linkcode Server.onShutdown}. */
export interface HookOptions {
  /** A name for reports and logs. */
  name?: string;
  /**
   * How long the hook may run before it is reported as failed and the next one starts.
   * @default {5000}
   */
  timeout?: number;
}

/** Options of {@linkcode Server.shutdown}. */
export interface ShutdownOptions {
  /** Overrides the server's `drainTimeout` for this shutdown. */
  drainTimeout?: number;
  /** Recorded in the report and the logs. */
  reason?: string;
}

/** A server's lifecycle state. */
export type ServerState = "serving" | "draining" | "closed";

/**
 * What `serve()` returns.
 *
 * @example End a server-sent event stream when shutdown starts
 * ```ts
 * import { serve } from "@lameduck/lameduck";
 *
 * const server = serve({
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   logger: false,
 *   fetch: (_request, ctx) => {
 *     const body = new ReadableStream<string>({
 *       start(controller) {
 *         controller.enqueue("data: hello\n\n");
 *         // The stream ends by itself once the drain starts, so the drain does not wait.
 *         ctx.shutdown.addEventListener("abort", () => {
 *           controller.enqueue("event: bye\ndata: server restarting\n\n");
 *           controller.close();
 *         });
 *       },
 *     });
 *     return new Response(body.pipeThrough(new TextEncoderStream()), {
 *       headers: { "content-type": "text/event-stream" },
 *     });
 *   },
 * });
 * const { url } = await server.ready;
 * const response = await fetch(url);
 * const report = await server.shutdown({ reason: "deploy" });
 * console.log(await response.text()); // "data: hello ... event: bye ..."
 * console.log(report.graceful, report.reason); // true "deploy"
 * ```
 */
export interface Server extends AsyncDisposable {
  /** The runtime this server runs on. */
  readonly runtime: Runtime;
  /** Settles once listening; rejects with the listen error (e.g. the port is in use). */
  readonly ready: Promise<ListenAddress>;
  /** `"serving"`, then `"draining"` once shutdown starts, then `"closed"`. */
  readonly state: ServerState;
  /** Requests whose response has not finished (streams count until their end or cancel). */
  readonly inFlight: number;
  /** Aborted when shutdown starts: hand it to SSE streams, long polls, WebSockets. */
  readonly signal: AbortSignal;
  /** Settles with the report once the server is closed. */
  readonly finished: Promise<ShutdownReport>;
  /**
   * Registers cleanup to run after the drain. Hooks run last-registered first, each bounded
   * by its timeout; a failing or hanging hook is reported and never blocks exit.
   *
   * @example Close a database pool after the last request
   * ```ts
   * import { serve } from "@lameduck/lameduck";
   *
   * const pool = { end: () => Promise.resolve() }; // e.g. a pg.Pool
   * const fetch = () => new Response("ok");
   * const server = serve({ fetch, port: 0, hostname: "127.0.0.1", logger: false });
   * server.onShutdown(() => pool.end(), { name: "db", timeout: 2_000 });
   * await server.ready;
   * const report = await server.shutdown();
   * console.log(report.hooks); // [{ name: "db", ok: true, durationMs: 0 }]
   * ```
   */
  onShutdown(hook: () => unknown, options?: HookOptions): Disposable;
  /** Graceful shutdown. Idempotent: every call returns the same promise. */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport>;
  /** Immediate: aborts in-flight requests and closes every connection. */
  close(): Promise<ShutdownReport>;
}
