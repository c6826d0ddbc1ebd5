/**
 * A plain fetch handler (no framework) served by lameduck. The same file runs on every runtime:
 *
 *     deno run -A examples/fetch.ts
 *     bun examples/fetch.ts
 *     node examples/fetch.ts          (Node 24 strips the types)
 *
 * Environment: `PORT` (default 8000; `0` picks a free port), `HOST` (default `0.0.0.0`),
 * `LAME_DUCK_MS` (default 5000), `LOG_JSON=1` for lifecycle events as JSON lines on stdout
 * instead of lameduck's concise lines on stderr. Stop it with Ctrl-C or `kill <pid>`: readiness
 * fails at once, every response says `Connection: close` for `LAME_DUCK_MS`, then the listener
 * closes, in-flight requests and streams finish, the hook runs, and the process exits 0.
 *
 * @module
 */

import process from "node:process";
import { type LifecycleEvent, serve } from "lameduck";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();

/** `GET /stream`: five lines, 200 ms apart; a client that leaves cancels the rest. */
function stream(): Response {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let i = 0;
      const tick = () => {
        controller.enqueue(encoder.encode(`chunk ${++i} of 5\n`));
        if (i === 5) controller.close();
        else timer = setTimeout(tick, 200);
      };
      tick();
    },
    cancel: () => clearTimeout(timer),
  });
  return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** `GET /events`: server-sent events, one a second, that end cleanly when shutdown starts. */
function events(shutdown: AbortSignal): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  let onShutdown = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = () =>
        controller.enqueue(encoder.encode(`data: ${new Date().toISOString()}\n\n`));
      // The client reconnects (to another instance) when the stream ends: end it at shutdown
      // instead of letting the drain deadline cut it.
      onShutdown = () => {
        clearInterval(timer);
        controller.enqueue(encoder.encode("event: bye\ndata: shutting down\n\n"));
        controller.close();
      };
      if (shutdown.aborted) return onShutdown();
      send();
      timer = setInterval(send, 1000);
      shutdown.addEventListener("abort", onShutdown, { once: true });
    },
    cancel() {
      clearInterval(timer);
      shutdown.removeEventListener("abort", onShutdown);
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

const server = serve({
  port: Number(process.env.PORT ?? 8000),
  hostname: process.env.HOST ?? "0.0.0.0",
  // GET /readyz answers 200 while serving and 503 once shutdown starts (fetch is not called).
  readiness: "/readyz",
  // Keep serving this long after SIGTERM, so load balancers see /readyz fail and move away.
  lameDuck: Number(process.env.LAME_DUCK_MS ?? 5000),
  // Then wait at most this long for in-flight requests before cutting them.
  drainTimeout: 10_000,
  ...(process.env.LOG_JSON === "1"
    ? { logger: (event: LifecycleEvent) => console.log(JSON.stringify(event)) }
    : {}),
  async fetch(request, ctx) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/":
        return new Response("hello from lameduck\n");
      case "/slow": {
        const ms = Math.min(Number(url.searchParams.get("ms") ?? 1000) || 0, 30_000);
        await sleep(ms);
        return new Response(`slept ${ms} ms\n`);
      }
      case "/stream":
        return stream();
      case "/events":
        return events(ctx.shutdown);
      default:
        return new Response("not found\n", { status: 404 });
    }
  },
});

// Cleanup after the drain, e.g. closing a database pool. Bounded by its timeout (5 s).
server.onShutdown(async () => {
  await sleep(20); // stands in for `await pool.end()`
}, { name: "db pool" });
