/**
 * `serve()`: detects the runtime and lazily loads its adapter.
 *
 * @module
 */

import { takeActivation } from "./process/environment.ts";
import type { Notice } from "./process/notice.ts";
import type { Adapter, AdapterSetup } from "./core/adapter.ts";
import { emitTo } from "./core/emit.ts";
import { type ResolvedOptions, resolveOptions } from "./core/options.ts";
import { LameduckServer } from "./core/server.ts";
import { type Platform, SignalHub } from "./core/signals.ts";
import type { Logger, Runtime, ServeOptions, Server } from "./core/types.ts";
import { platformFor } from "./process/platform.ts";
import { detectRuntime } from "./process/runtime.ts";

/**
 * The lame-duck window of a worker under `lameduck run` whose `lameDuck` is not set. The
 * listening socket stays open through a restart, so the old worker has no reason to rush:
 * for this long every response says `Connection: close`, so each pooled keep-alive client
 * moves to a new connection (served by the next worker) after its next request instead of
 * racing the close of its idle connection (ECONNRESET).
 */
export const SUPERVISED_LAME_DUCK_MS = 1000;

let platform: Platform | undefined;
let hub: SignalHub | undefined;
/** Whether a server already took the process's inherited socket and supervisor channel. */
let activated = false;

/** The adapter's module, loaded on first use: only the runtime's own code is ever imported. */
async function loadAdapter(bridged: boolean, setup: AdapterSetup): Promise<Adapter> {
  const module = bridged
    ? await import("./adapters/node/adapter.ts")
    : setup.runtime === "deno"
    ? await import("./adapters/deno.ts")
    : await import("./adapters/bun.ts");
  return module.createAdapter(setup);
}

/** A server on `node:http` when `bridged`, else on the runtime's own server. */
function start(
  options: ResolvedOptions,
  runtime: Runtime,
  bridged: boolean,
  fd?: number,
  reusePort = false,
): LameduckServer {
  const overrideGlobals = options.overrideGlobals ?? runtime === "node";
  const adapter = loadAdapter(bridged, { runtime, overrideGlobals });
  return new LameduckServer(options, { runtime, adapter, hub: hub!, fd, reusePort });
}

/**
 * Serves `options.fetch` on Deno, Bun or Node, and shuts it down without dropping a request
 * on `SIGINT`/`SIGTERM` (or {@linkcode Server.shutdown}).
 *
 * Throws `TypeError`/`RangeError` at once for an invalid option, naming it. Listen errors
 * (e.g. the port is in use) reject {@linkcode Server.ready}.
 *
 * @param options The handler and its options.
 * @returns The running server.
 *
 * @example Serve a Hono app and close a database pool after the drain
 * ```ts
 * import { serve } from "@lameduck/lameduck";
 * import { Hono } from "hono";
 *
 * const db = { end: () => Promise.resolve() }; // e.g. a pg.Pool
 * const app = new Hono().get("/", (c) => c.text("hi"));
 * const server = serve({
 *   fetch: app.fetch,
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   readiness: "/readyz",
 *   logger: false,
 * });
 * server.onShutdown(() => db.end(), { name: "db" });
 * await server.ready;
 * // In production SIGTERM starts this; `finished` settles with the same report.
 * void server.shutdown({ reason: "example" });
 * const report = await server.finished;
 * console.log(report.graceful); // true
 * ```
 */
export function serve(options: ServeOptions): Server {
  let resolved = resolveOptions(options);
  const runtime = detectRuntime();
  platform ??= platformFor(runtime);
  hub ??= new SignalHub(platform);
  // A Node listener is served on node:http on every runtime.
  const onNodeHttp = runtime === "node" || resolved.listener !== undefined;
  if (activated) return start(resolved, runtime, onNodeHttp);
  activated = true;
  const { fd, notifyPath, systemd, reusePort } = takeActivation(platform);
  // Under `lameduck run`: a restart loses no keep-alive request by default; an explicit
  // lameDuck (even 0) wins.
  if (notifyPath && !resolved.set.has("lameDuck")) {
    resolved = { ...resolved, lameDuck: SUPERVISED_LAME_DUCK_MS };
  }
  // `lameduck run --handover reuseport`: bind the supervisor's address with SO_REUSEPORT.
  if (reusePort) resolved = { ...resolved, ...reusePort };
  // Deno.serve and Bun.serve cannot adopt a descriptor: an inherited socket is served through
  // node:http on every runtime (see docs/restarts.md, "On an inherited socket").
  const server = start(
    resolved,
    runtime,
    fd !== undefined || onNodeHttp,
    fd,
    reusePort !== undefined,
  );
  if (fd !== undefined && runtime !== "node" && resolved.listener === undefined) {
    warnInherited(runtime, resolved);
  }
  if (notifyPath) reportTo(notifyPath, server, resolved.exit, resolved.logger);
  // A Node worker's stderr is the supervisor's: a reader that went away must not end it.
  if (notifyPath && runtime === "node") {
    void import("./process/stderr.ts").then((m) => m.keepStderrErrorsQuiet());
  }
  if (systemd) reportToSystemd(server, resolved.logger);
  return server;
}

/**
 * On Deno and Bun an inherited socket is served through `node:http`: say once, at start, what
 * cannot take effect there (the runtime's own server object is absent).
 */
function warnInherited(runtime: Runtime, options: ResolvedOptions): void {
  // hono/deno's getConnInfo reads `remoteAddr`, which every path provides.
  const helpers = runtime === "bun"
    ? "hono/bun's getConnInfo and upgradeWebSocket do not work"
    : "hono/deno's upgradeWebSocket does not work";
  const message = `${runtime}: the inherited socket is served through node:http, so ` +
    (typeof options.websocket === "object"
      ? `${runtime}'s websocket handlers are ignored (pass a function that attaches an ` +
        `upgrade listener to the node:http server to serve WebSockets here), and `
      : "") +
    `${helpers} (use ctx.remoteAddr for the client address)`;
  emitTo(options.logger, { type: "warning", message });
}

/** A warning of the process layer (supervisor channel, systemd), through the `logger`. */
function warner(logger: Logger | undefined): (message: string) => void {
  return (message) => emitTo(logger, { type: "warning", message });
}

/** `READY=1` once listening, `STOPPING=1` when shutdown starts (systemd `Type=notify`). */
function reportToSystemd(server: Server, logger: Logger | undefined): void {
  const notify = import("./process/systemd.ts");
  const warn = warner(logger);
  const send = (fields: string[]) => void notify.then((m) => m.sdNotify(fields, warn));
  server.ready.then(({ url }) => send(["READY=1", `STATUS=serving on ${url}`]), () => {});
  server.signal.addEventListener("abort", () => send(["STOPPING=1", "STATUS=draining"]), {
    once: true,
  });
}

/**
 * Sends the server's lifecycle to the supervisor listening at `address` (`lameduck run`). When
 * the supervisor is gone (its channel closed: killed by `SIGKILL`, say), nobody will restart or
 * stop this worker and it holds the port, so a serving worker drains by itself, and with
 * `exit` the process exits as after a signal (`0` if graceful and every hook succeeded, else
 * `1`). A worker already draining just finishes.
 */
function reportTo(
  address: string,
  server: Server,
  exit: boolean,
  logger: Logger | undefined,
): void {
  const gone = () => {
    if (server.state !== "serving") return;
    const reason = "lameduck run is gone (its notify channel closed)";
    void server.shutdown({ reason }).then((report) => {
      if (!exit) return;
      const code = report.graceful && report.hooks.every((h) => h.ok) ? 0 : 1;
      // On the next macrotask, so code awaiting `server.finished` runs first (as the hub does).
      setTimeout(() => platform!.exit(code), 0);
    });
  };
  const notify = import("./process/notify.ts").then((m) =>
    m.connectNotify(address, gone, warner(logger))
  );
  const send = (notice: Notice) => void notify.then((n) => n(notice));
  server.ready.then(({ port }) => send({ type: "ready", port }), () => {});
  server.signal.addEventListener("abort", () => send({ type: "stopping" }), { once: true });
  server.finished.then(({ completed, aborted, graceful }) =>
    send({ type: "closed", completed, aborted, graceful })
  );
}
