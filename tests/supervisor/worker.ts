/**
 * The worker of the restart proof: a lameduck server that answers with its PID, so a client
 * can tell generations apart. `/slow?ms=N` answers after N ms. Runs on Deno, Bun and Node:
 *
 *     lameduck run --port 0 -- deno run -A tests/supervisor/worker.ts
 *
 * `WORKER_LAME_DUCK` sets `lameDuck` (ms). `WORKER_NAIVE=1` makes it the negative control's
 * worker: it binds its own socket instead of adopting one and dies on SIGTERM (no lameduck).
 *
 * @module
 */

import process from "node:process";
import { serve } from "../../mod.ts";

const lameDuck = Number(process.env.WORKER_LAME_DUCK ?? "0");

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/slow") {
    await new Promise((resolve) =>
      setTimeout(resolve, Number(url.searchParams.get("ms") ?? "500"))
    );
  }
  return new Response(`${process.pid}\n`);
}

const server = serve({ fetch: handle, port: 0, hostname: "127.0.0.1", lameDuck, logger: false });
await server.ready;
