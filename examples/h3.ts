/**
 * An h3 2 app served by lameduck (`fetch: app.fetch`): Server-Sent Events through h3's
 * `createEventStream`, a readiness probe and a cleanup hook, all shut down gracefully on
 * SIGTERM/SIGINT. The same file runs on Node, Bun and Deno:
 *
 *     node examples/h3.ts                       # or: bun examples/h3.ts; deno run -A examples/h3.ts
 *     curl -N localhost:8000/events             # then Ctrl-C the server: the stream says goodbye
 *
 * On shutdown: `/readyz` answers 503 (h3 is not called for it), the SSE stream sends a final
 * `bye` event and ends, the listener closes, in-flight requests finish, the fake database pool
 * closes, and the process exits 0.
 *
 * @module
 */

import { createEventStream, H3 } from "h3";
import process from "node:process";
import { serve } from "lameduck";

/** A stand-in for a real database pool: close it after the drain, never before. */
const db = {
  async end(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("db pool closed");
  },
};

const app = new H3();

app.get("/", () => "Hello from h3\n");

// Server-Sent Events: one `tick` a second until the client leaves or the server shuts down
// (`server.signal` aborts when shutdown starts); then a final `bye` event and the end.
app.get("/events", (event) => {
  const stream = createEventStream(event);
  let id = 0;
  const tick = () =>
    stream.push({ event: "tick", id: String(id++), data: new Date().toISOString() });
  const bye = async () => {
    clearInterval(timer);
    await stream.push({ event: "bye", id: String(id), data: "server shutting down" });
    await stream.close();
  };
  void tick();
  const timer = setInterval(tick, 1000);
  if (server.signal.aborted) void bye();
  else server.signal.addEventListener("abort", bye, { once: true });
  stream.onClosed(() => {
    clearInterval(timer);
    server.signal.removeEventListener("abort", bye);
  });
  return stream;
});

const server = serve({
  fetch: app.fetch, // h3 is fetch-style: no listener needed
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
