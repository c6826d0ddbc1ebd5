/**
 * The server the deploy recipes ship (docs/pm2.md, docs/docker.md, docs/kubernetes.md), plus
 * one testing aid: with `EVENTS` set, the `listening`, `draining` and `closed` events and the
 * exit code go to that file as JSON lines. The same file runs on every runtime:
 *
 *     deno run -A tests/recipes/app.ts
 *     bun tests/recipes/app.ts
 *     node tests/recipes/app.ts          (Node 24 strips the types)
 *
 * Environment: `PORT` (8000); `LISTEN_HOST` (127.0.0.1; a container needs 0.0.0.0; not
 * `HOSTNAME`, which Docker and Kubernetes set to the container's name); `LAME_DUCK_MS`,
 * `DRAIN_TIMEOUT_MS` and `HOOK_TIMEOUT_MS` (the `db` hook's timeout), lameduck's defaults when
 * unset; `EVENTS`. The `exit` line is written on Node and Bun only (`Deno.exit`, which lameduck
 * calls on Deno, does not emit `process` `exit`).
 * Routes: `/readyz` (lameduck's readiness), `/slow?ms=N` (answers after N ms), anything else `ok`.
 *
 * @module
 */

import { appendFileSync } from "node:fs";
import process from "node:process";
import { serve } from "lameduck";
import type { LifecycleEvent } from "lameduck";

const env = process.env;
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

function ms(name: string): number | undefined {
  const raw = env[name];
  return raw === undefined || raw === "" ? undefined : Number(raw);
}

function record(event: Record<string, unknown>): void {
  if (!env.EVENTS) return;
  const line = { ...event, runtime, pid: process.pid, at: Date.now() };
  appendFileSync(env.EVENTS, JSON.stringify(line) + "\n");
}

const lameDuck = ms("LAME_DUCK_MS");
const drainTimeout = ms("DRAIN_TIMEOUT_MS");
const hookTimeout = ms("HOOK_TIMEOUT_MS");

const server = serve({
  port: Number(env.PORT ?? 8000),
  hostname: env.LISTEN_HOST ?? "127.0.0.1",
  readiness: "/readyz",
  ...(lameDuck === undefined ? {} : { lameDuck }),
  ...(drainTimeout === undefined ? {} : { drainTimeout }),
  fetch: async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/slow") {
      const wait = Number(url.searchParams.get("ms") ?? "1000");
      await new Promise((resolve) => setTimeout(resolve, wait));
      return new Response(`slow ${wait}`);
    }
    return new Response("ok");
  },
  onListen: ({ url, port }) => {
    console.error(`listening on ${url} (${runtime}, pid ${process.pid})`);
    record({ type: "listening", port, ipc: typeof process.send === "function" });
    // PM2's wait_ready: tell the daemon we accept connections (absent when not under PM2).
    process.send?.("ready");
  },
  logger: (event: LifecycleEvent) => {
    if (event.type !== "listening") console.error(`lameduck: ${event.type}`);
    if (event.type === "closed") record({ type: "closed", report: event.report });
    else if (event.type === "draining") record({ type: "draining", inFlight: event.inFlight });
  },
});

// Stands in for a database pool: closed after the drain, within its timeout.
server.onShutdown(() => new Promise((resolve) => setTimeout(resolve, 50)), {
  name: "db",
  ...(hookTimeout === undefined ? {} : { timeout: hookTimeout }),
});

process.on("exit", (code) => record({ type: "exit", code }));
