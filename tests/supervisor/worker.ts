/**
 * The worker of the restart proof: a lameduck server that answers with its PID, so a client
 * can tell generations apart. `/slow?ms=N` answers after N ms. Runs on Deno, Bun and Node:
 *
 *     lameduck run --port 0 -- deno run -A tests/supervisor/worker.ts
 *
 * `WORKER_FAIL_FILE` / `WORKER_HANG_FILE`: when that file exists at start, the worker exits 1 /
 * never becomes ready (the supervisor's failed-restart cases). `WORKER_LAME_DUCK` sets `lameDuck`
 * (ms). `WORKER_PORT` is the port to bind when no socket is inherited (the negative control
 * restarts it by stopping it and starting it again). `WORKER_REPORT=1` writes
 * `worker <pid>: closed by <reason>` to stderr when the server closes. `GET /exit?code=N` answers,
 * then exits the process with status N (a worker dying by itself).
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
if (flag("WORKER_HANG_FILE")) {
  setInterval(() => {}, 1_000); // alive, never serving
  await new Promise(() => {});
}

const lameDuck = Number(process.env.WORKER_LAME_DUCK ?? "0");

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/exit") {
    setTimeout(() => process.exit(Number(url.searchParams.get("code") ?? "1")), 50);
  }
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
  lameDuck,
  // Written synchronously from the logger: with exit: true the process exits right after it.
  logger: process.env.WORKER_REPORT === "1"
    ? (event) => {
      if (event.type !== "closed") return;
      const { reason, graceful } = event.report;
      writeSync(2, `worker ${process.pid}: closed by ${reason} (graceful ${graceful})\n`);
    }
    : false,
});
const { port: bound } = await server.ready;
console.log(JSON.stringify({ ready: process.pid, port: bound }));
