/**
 * A Koa 3 app served by lameduck (`listener: app.callback()`): Server-Sent Events written with
 * `res.write`, the client's address, a readiness probe and a cleanup hook, all shut down
 * gracefully on SIGTERM/SIGINT:
 *
 *     node examples/koa.ts                      # Node 24 strips the types; PORT=8000 by default
 *     curl -N localhost:8000/events             # then Ctrl-C the server: the stream says goodbye
 *
 * On shutdown: `/readyz` answers 503 (Koa is not called for it), the SSE stream sends a final
 * `bye` event and ends, the listener closes, in-flight requests finish, the fake database pool
 * closes, and the process exits 0.
 *
 * @module
 */

import Koa from "koa";
import process from "node:process";
import { serve } from "lameduck";

/** A stand-in for a real database pool: close it after the drain, never before. */
const db = {
  async end(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("db pool closed");
  },
};

const app = new Koa();

app.use((ctx) => {
  switch (ctx.path) {
    case "/":
      ctx.body = "Hello from Koa\n";
      return;
    // Who is calling: Node's own request, as Koa has it in `ctx.req`.
    case "/whoami":
      ctx.body = { address: ctx.req.socket.remoteAddress, port: ctx.req.socket.remotePort };
      return;
    // Server-Sent Events: one `tick` a second until the client leaves or the server shuts down
    // (`server.signal` aborts when shutdown starts); then a final `bye` event and the end.
    // `ctx.respond = false` lets the route write Node's response itself.
    case "/events": {
      ctx.respond = false;
      const res = ctx.res;
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      let id = 0;
      const tick = () =>
        res.write(`event: tick\nid: ${id++}\ndata: ${new Date().toISOString()}\n\n`);
      const bye = () => {
        clearInterval(timer);
        res.end(`event: bye\nid: ${id}\ndata: server shutting down\n\n`);
      };
      tick();
      const timer = setInterval(tick, 1000);
      if (server.signal.aborted) bye();
      else server.signal.addEventListener("abort", bye, { once: true });
      ctx.req.on("close", () => {
        clearInterval(timer);
        server.signal.removeEventListener("abort", bye);
      });
      return;
    }
  }
});

const server = serve({
  listener: app.callback(), // Koa's request listener: no app.listen()
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
