/**
 * The worker of the restart proof: a lameduck server that answers with its PID, so a client
 * can tell generations apart. `/slow?ms=N` answers after N ms. Runs on Deno, Bun and Node:
 *
 *     lameduck run --port 0 -- deno run -A tests/supervisor/worker.ts
 *
 * `WORKER_LAME_DUCK` sets `lameDuck` (ms). `WORKER_PORT` is the port to bind when no socket
 * is inherited (the negative control restarts it by stopping it and starting it again).
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

const port = Number(process.env.WORKER_PORT ?? "0");
const server = serve({ fetch: handle, port, hostname: "127.0.0.1", lameDuck, logger: false });
const { port: bound } = await server.ready;
console.log(JSON.stringify({ ready: process.pid, port: bound }));
