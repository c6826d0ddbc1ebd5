/**
 * A Hono app on Bun, served by lameduck: Server-Sent Events, a WebSocket, connection info, a
 * readiness probe and a cleanup hook, all shut down gracefully on SIGTERM/SIGINT.
 *
 *     bun examples/hono-bun.ts                  # PORT=8000 by default
 *     curl -N localhost:8000/events             # then Ctrl-C the server: the stream says goodbye
 *
 * On shutdown: `/readyz` answers 503, the SSE stream sends a final `bye` event and ends, the
 * WebSocket is closed with 1001 (going away), the listener closes, in-flight requests finish,
 * the fake database pool closes, and the process exits 0.
 *
 * @module
 */

import { serve } from "lameduck";
import type { RequestContext } from "lameduck";
import { Hono } from "hono";
import { getConnInfo, upgradeWebSocket, websocket } from "hono/bun";
import { streamSSE } from "hono/streaming";
import process from "node:process";

// lameduck's request context (fetch's 2nd argument) is what Hono calls `c.env`. It carries
// `ctx.shutdown` (aborts when shutdown starts) and, on Bun, the `server` that Hono's Bun helpers
// (`getConnInfo`, `upgradeWebSocket`) read.
type Env = { Bindings: RequestContext };

/** Resolves after `ms`, or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A stand-in for a real database pool: close it after the drain, never before. */
const db = {
  async end(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("db pool closed");
  },
};

const app = new Hono<Env>();

app.get("/", (c) => c.text("Hello from Hono on Bun\n"));

// Who is calling. Hono's Bun helper reads the Bun server lameduck passes in `c.env` (under
// `lameduck run`, an inherited socket served through node:http, a stand-in whose `requestIP()`
// answers from the socket). `c.env.remoteAddr` is the portable way, on every runtime and path.
app.get("/whoami", (c) => c.json(getConnInfo(c).remote));

// Server-Sent Events: one `tick` a second until the client leaves or the server shuts down;
// then a final `bye` event, and returning from the callback ends the body cleanly.
app.get("/events", (c) => {
  const shutdown = c.env.shutdown;
  return streamSSE(c, async (stream) => {
    let id = 0;
    while (!shutdown.aborted && !stream.aborted) {
      await stream.writeSSE({ event: "tick", data: new Date().toISOString(), id: String(id++) });
      await sleep(1000, shutdown);
    }
    if (!stream.aborted) {
      await stream.writeSSE({ event: "bye", data: "server shutting down", id: String(id) });
    }
  });
});

// A WebSocket echo. lameduck would close open sockets with 1001 only when the listener closes
// (after the `lameDuck` window); closing them as soon as shutdown starts lets clients
// reconnect elsewhere right away.
app.get(
  "/ws",
  upgradeWebSocket((c) => {
    const shutdown = c.env.shutdown;
    let goAway: (() => void) | undefined;
    return {
      onOpen(_event, ws) {
        goAway = () => ws.close(1001, "Server shutting down");
        if (shutdown.aborted) goAway();
        else shutdown.addEventListener("abort", goAway, { once: true });
      },
      onMessage(event, ws) {
        ws.send(`echo: ${String(event.data)}`);
      },
      onClose() {
        if (goAway) shutdown.removeEventListener("abort", goAway);
      },
    };
  }),
);

const server = serve({
  fetch: app.fetch,
  websocket, // Bun needs Hono's WebSocket handlers on the server itself
  port: Number(process.env.PORT ?? 8000),
  ...(process.env.HOST ? { hostname: process.env.HOST } : {}),
  readiness: "/readyz", // 200 while serving, 503 from the first signal on
  // Keep serving this long after SIGTERM (with /readyz failing) so a load balancer notices
  // before the listener closes: set it to your balancer's readiness period, e.g. 5000.
  // Unset: serve()'s default (0; 1000 under `lameduck run`, so restarts lose nothing).
  ...(process.env.LAME_DUCK_MS ? { lameDuck: Number(process.env.LAME_DUCK_MS) } : {}),
  drainTimeout: 10_000, // then in-flight requests are cut and the process exits 1
  onListen: ({ url }) => console.log(`listening on ${url}`),
});

server.onShutdown(() => db.end(), { name: "db" });

// Optional: the report is also logged on stderr, and the process exits by itself (0 or 1).
const report = await server.finished;
console.log(`shut down (${report.graceful ? "graceful" : "forced"}): ${report.reason}`);
