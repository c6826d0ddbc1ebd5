/**
 * The worker of the restart proof: a lameduck server that answers with its PID, so a client
 * can tell generations apart. `/slow?ms=N` answers after N ms. Runs on Deno, Bun and Node:
 *
 *     lameduck run --port 0 -- deno run -A tests/supervisor/worker.ts
 *
 * `WORKER_FAIL_FILE` / `WORKER_HANG_FILE`: when that file exists at start, the worker exits 1 /
 * never becomes ready (the supervisor's failed-restart cases); `WORKER_STUBBORN_FILE`: ignores
 * SIGTERM. `/exit?code=N` exits at once (a worker that dies). `WORKER_STALL_MS`: blocks the event loop
 * that long 900 ms into the shutdown (just before the supervised lame-duck window ends).
 * `WORKER_REPORT=1` writes `worker <pid>: closed by <reason>` to stderr when the server closes.
 * `WORKER_LOG=1` keeps serve()'s default logger (lines on stderr), and `/throw` makes the
 * handler throw (one logged error). `WORKER_LAME_DUCK` sets `lameDuck` (ms; unset: the default). `WORKER_PORT` is the port to bind when no socket
 * is inherited (the negative control restarts it by stopping it and starting it again).
 *
 * @module
 */

import { existsSync, writeSync } from "node:fs";
import process from "node:process";
import { serve } from "../../mod.ts";

const flag = (name: string) => process.env[name] !== undefined && existsSync(process.env[name]!);
if (flag("WORKER_FAIL_FILE")) {
  console.error("worker: failing on purpose");
  process.exit(1);
}
// Ignores SIGTERM (the supervisor's --stop-timeout case).
const stubborn = flag("WORKER_STUBBORN_FILE");
if (stubborn) process.on("SIGTERM", () => console.error("worker: ignoring SIGTERM"));
if (flag("WORKER_HANG_FILE")) {
  setInterval(() => {}, 1_000); // alive, never serving
  await new Promise(() => {});
}

// Unset: serve()'s default (what the restart proof must hold with).
const lameDuck = process.env.WORKER_LAME_DUCK === undefined
  ? {}
  : { lameDuck: Number(process.env.WORKER_LAME_DUCK) };

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/exit") process.exit(Number(url.searchParams.get("code") ?? "3"));
  if (url.pathname === "/throw") throw new Error("thrown on purpose");
  if (url.pathname === "/slow") {
    await new Promise((resolve) =>
      setTimeout(resolve, Number(url.searchParams.get("ms") ?? "500"))
    );
  }
  return new Response(`${process.pid}\n`);
}

const port = Number(process.env.WORKER_PORT ?? "0");
const server = serve({
  fetch: handle,
  port,
  hostname: "127.0.0.1",
  ...lameDuck,
  ...(stubborn ? { signals: false as const } : {}),
  // Written synchronously from the logger: with exit: true the process exits right after it.
  ...(process.env.WORKER_LOG === "1" ? {} : {
    logger: process.env.WORKER_REPORT === "1"
      ? (event) => {
        if (event.type !== "closed") return;
        const { reason, graceful } = event.report;
        writeSync(2, `worker ${process.pid}: closed by ${reason} (graceful ${graceful})\n`);
      }
      : false,
  }),
});
// Blocks the event loop for this long just before the listener closes, so connections queue
// in the kernel on the closing listener (the tcp_migrate_req negative control).
const stall = Number(process.env.WORKER_STALL_MS ?? "0");
if (stall > 0) {
  server.signal.addEventListener("abort", () => {
    setTimeout(() => {
      const end = Date.now() + stall;
      while (Date.now() < end) { /* busy */ }
    }, 900);
  });
}
const { port: bound } = await server.ready.catch((error: Error) => {
  console.error(`worker: cannot listen: ${error.message}`); // logger is off
  throw error;
});
console.log(JSON.stringify({ ready: process.pid, port: bound }));
