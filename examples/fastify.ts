/**
 * A Fastify 5 app served by lameduck (`listener: app.routing`, after `await app.ready()`):
 * Server-Sent Events written with `res.write`, the client's address, a readiness probe and a
 * cleanup hook, all shut down gracefully on SIGTERM/SIGINT:
 *
 *     node examples/fastify.ts                  # Node 24 strips the types; PORT=8000 by default
 *     curl -N localhost:8000/events             # then Ctrl-C the server: the stream says goodbye
 *
 * On shutdown: `/readyz` answers 503 (Fastify is not called for it), the SSE stream sends a
 * final `bye` event and ends, the listener closes, in-flight requests finish, the fake database
 * pool closes, and the process exits 0. lameduck owns the server, so Fastify's `onClose` hooks
 * do not run by themselves: the cleanup hook below calls `app.close()`.
 *
 * @module
 */

import Fastify from "fastify";
import process from "node:process";
import { serve } from "lameduck";

/** A stand-in for a real database pool: close it after the drain, never before. */
const db = {
  async end(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("db pool closed");
  },
};

const app = Fastify();
app.addHook("onClose", () => db.end()); // Fastify's own cleanup: run by app.close() below

app.get("/", (_request, reply) => reply.send("Hello from Fastify\n"));

// Who is calling: Fastify's request carries Node's socket.
app.get(
  "/whoami",
  (request, reply) =>
    reply.send({ address: request.socket.remoteAddress, port: request.socket.remotePort }),
);

// Server-Sent Events: one `tick` a second until the client leaves or the server shuts down
// (`server.signal` aborts when shutdown starts); then a final `bye` event and the end.
// `reply.hijack()` lets the route write Node's response itself.
app.get("/events", (request, reply) => {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  let id = 0;
  const tick = () => res.write(`event: tick\nid: ${id++}\ndata: ${new Date().toISOString()}\n\n`);
  const bye = () => {
    clearInterval(timer);
    res.end(`event: bye\nid: ${id}\ndata: server shutting down\n\n`);
  };
  tick();
  const timer = setInterval(tick, 1000);
  if (server.signal.aborted) bye();
  else server.signal.addEventListener("abort", bye, { once: true });
  request.raw.on("close", () => {
    clearInterval(timer);
    server.signal.removeEventListener("abort", bye);
  });
});

// Routes, plugins and hooks are in Fastify's router only once the app has booted.
await app.ready();

const server = serve({
  listener: app.routing, // Fastify's request listener: no app.listen()
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

// After the drain: Fastify's onClose hooks (the db pool). Not app.close() at SIGTERM: that
// would start Fastify's own shutdown while lameduck still serves.
server.onShutdown(() => app.close(), { name: "fastify" });

// Optional: the report is also logged on stderr, and the process exits by itself (0 or 1).
const report = await server.finished;
console.log(`shut down (${report.graceful ? "graceful" : "forced"}): ${report.reason}`);
