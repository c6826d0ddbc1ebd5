/**
 * The contract fixture's Hono app: the routes the cases request (`/fast`, `/slow`, `/stream`,
 * `/stream-forever`, `/never`, `/conninfo`, `/inflight`, `/state`, `/throw`, `/ws`), each reporting what it sees as JSON lines. Its `fetch` is handed to `serve()` unchanged.
 *
 * @module
 */

import type { Context } from "hono";
import { Hono } from "hono";
import process from "node:process";
import type { RequestContext, Server } from "../../mod.ts";
import { sleep } from "../shared/time.ts";
import { emit } from "./fixture_output.ts";

/** The app's environment: lameduck's request context as Hono bindings. */
export type Env = { Bindings: RequestContext };
/** Hono's `getConnInfo` for the current runtime. */
export type ConnInfoFn = (c: Context<Env>) => unknown;

/** Reports `aborted` when `ctx.signal` aborts and `shutdown-seen` when `ctx.shutdown` does. */
function watchSignal(route: string, ctx: RequestContext, id: string): void {
  const report = () => emit({ event: "aborted", route, id, reason: String(ctx.signal.reason) });
  if (ctx.signal.aborted) report();
  else ctx.signal.addEventListener("abort", report, { once: true });
  const seen = () => emit({ event: "shutdown-seen", route, id });
  if (ctx.shutdown.aborted) seen();
  else ctx.shutdown.addEventListener("abort", seen, { once: true });
}

/** The message of the error `/throw-through` throws past Hono, to lameduck's `onError`. */
export const THROUGH = "boom thrown through to lameduck";

const encoder = new TextEncoder();

// WebSockets through Hono's own helpers: `hono/deno` and `hono/bun` where lameduck serves with
// Deno.serve and Bun.serve; `@hono/node-ws` (its `injectWebSocket` as the `websocket` option)
// where it serves through node:http: on Node, and on every runtime with an inherited socket.
interface WebSocketHelpers {
  upgradeWebSocket: (create: (c: Context) => Record<string, unknown>) => never;
  websocket?: unknown;
}
const g = globalThis as Record<string, unknown>;
/** Whether lameduck serves through node:http here (docs/runtimes.md, "Per-runtime behaviour"). */
const nodeHttp = (!g.Deno && !g.Bun) || process.env.LISTEN_FDS !== undefined;
const nativeHelpers: WebSocketHelpers | undefined = nodeHttp
  ? undefined
  : g.Deno
  ? (await import("hono/deno")) as unknown as WebSocketHelpers
  : (await import("hono/bun")) as unknown as WebSocketHelpers;
const nodeWs = nodeHttp ? await import("@hono/node-ws") : undefined;

/** The app, and `attach` to give its routes the server and `getConnInfo` once they exist. */
export interface FixtureApp {
  app: Hono<Env>;
  /** The `websocket` option that serves the app's `/ws` route. */
  websocket: unknown;
  attach(server: Server, getConnInfo: ConnInfoFn): void;
}

/** Builds the app; `trace` writes a `fetch` line for every request that reaches it. */
export function createApp(options: { trace: boolean }): FixtureApp {
  const app = new Hono<Env>();
  let server: Server | undefined;
  let getConnInfo: ConnInfoFn | undefined;

  app.use("*", async (c, next) => {
    if (options.trace) {
      const url = new URL(c.req.url);
      emit({ event: "fetch", method: c.req.method, path: url.pathname + url.search });
    }
    await next();
  });

  app.get("/fast", (c) => c.text("fast"));

  let helpers = nativeHelpers;
  if (nodeWs) {
    const { injectWebSocket, upgradeWebSocket } = nodeWs.createNodeWebSocket({
      app: app as unknown as Parameters<typeof nodeWs.createNodeWebSocket>[0]["app"],
    });
    helpers = { upgradeWebSocket: upgradeWebSocket as never, websocket: injectWebSocket };
  }
  {
    app.get(
      "/ws",
      helpers!.upgradeWebSocket(() => ({
        onOpen: () => emit({ event: "ws-open", route: "/ws" }),
        onMessage: (event: { data: unknown }, ws: { send(data: string): void }) =>
          ws.send(`echo ${String(event.data)}`),
        onClose: (event: { code: number }) =>
          emit({ event: "ws-close", route: "/ws", code: event.code }),
      })),
    );
  }

  app.get("/slow", async (c) => {
    const ms = Number(c.req.query("ms") ?? "1000");
    const id = c.req.query("id") ?? "";
    emit({ event: "entered", route: "/slow", id });
    watchSignal("/slow", c.env, id);
    await sleep(ms);
    emit({ event: "handled", route: "/slow", id });
    return c.text(`slow done after ${ms} ms`);
  });

  app.get("/stream", (c) => {
    const n = Number(c.req.query("n") ?? "5");
    const ms = Number(c.req.query("ms") ?? "200");
    emit({ event: "entered", route: "/stream", id: "" });
    watchSignal("/stream", c.env, "");
    let timer: ReturnType<typeof setTimeout> | undefined;
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const tick = () => {
          controller.enqueue(encoder.encode(`chunk ${i}\n`));
          i++;
          if (i >= n) {
            controller.close();
            emit({ event: "stream-done", route: "/stream" });
          } else {
            timer = setTimeout(tick, ms);
          }
        };
        tick();
      },
      cancel(reason) {
        clearTimeout(timer);
        emit({ event: "cancel", route: "/stream", reason: String(reason) });
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  });

  app.get("/stream-forever", (c) => {
    emit({ event: "entered", route: "/stream-forever", id: "" });
    watchSignal("/stream-forever", c.env, "");
    let timer: ReturnType<typeof setInterval> | undefined;
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => {
          try {
            controller.enqueue(encoder.encode(`tick ${i++}\n`));
          } catch {
            clearInterval(timer);
          }
        }, 50);
      },
      cancel(reason) {
        clearInterval(timer);
        emit({ event: "cancel", route: "/stream-forever", reason: String(reason) });
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  });

  app.get("/never", (c) => {
    emit({ event: "entered", route: "/never", id: "" });
    watchSignal("/never", c.env, "");
    return new Promise<Response>(() => {});
  });

  app.get("/conninfo", (c) => {
    if (!getConnInfo) return c.text("getConnInfo not loaded", 500);
    return c.json({ conninfo: getConnInfo(c), remoteAddr: c.env.remoteAddr });
  });

  app.get("/inflight", (c) => c.json({ inFlight: server?.inFlight ?? null }));

  app.get(
    "/state",
    (c) => c.json({ state: server?.state ?? null, shutdown: c.env.shutdown.aborted }),
  );

  app.get("/throw", () => {
    throw new Error("boom from /throw");
  });

  // Hono answers a thrown error itself (500); this one goes through to lameduck's onError.
  app.get("/throw-through", () => {
    throw new Error(THROUGH);
  });
  app.onError((error, c) => {
    if (error.message === THROUGH) throw error;
    console.error(error);
    return c.text("Internal Server Error", 500);
  });
  return {
    app,
    websocket: helpers!.websocket,
    attach(s, connInfo) {
      server = s;
      getConnInfo = connInfo;
    },
  };
}

/** Loads Hono's `getConnInfo` for `runtime`. */
export async function loadConnInfo(runtime: string): Promise<ConnInfoFn> {
  if (runtime === "deno") return (await import("hono/deno")).getConnInfo as ConnInfoFn;
  if (runtime === "bun") return (await import("hono/bun")).getConnInfo as ConnInfoFn;
  return (await import("@hono/node-server/conninfo")).getConnInfo as ConnInfoFn;
}
