/**
 * The framework apps of the framework benchmarks, one per framework, built by the same function
 * whichever server serves them (the framework's own `listen`, lameduck's `listener`, a
 * shutdown library), so every comparison measures the server around the app, not the app.
 *
 * Routes, each written the framework's usual way (Express `res.send`, Fastify a returned
 * string, Koa `ctx.body`):
 * - `GET /`: `hello world` (with `BENCH_PID_BODY=1`: the process's PID, for the restart
 *   scenario, whose clients count which worker answered);
 * - `GET /slow?ms=N`: the same after `N` ms;
 * - `GET /deaf`: never answers (a handler that ignores every shutdown signal).
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import process from "node:process";
import express from "express";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import Koa from "koa";
import { HELLO } from "./routes.ts";

/** The frameworks. */
export const FRAMEWORKS = ["express", "fastify", "koa"] as const;
/** One of {@linkcode FRAMEWORKS}. */
export type Framework = (typeof FRAMEWORKS)[number];

/** A Node request listener. */
export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const body = (): string => (process.env.BENCH_PID_BODY === "1" ? `${process.pid}\n` : HELLO);
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const never = (): Promise<never> => new Promise<never>(() => {});
function slowMs(raw: unknown): number {
  const ms = Number(raw ?? 0);
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 60_000) : 0;
}

/** The Express 5 app (an Express app is itself a request listener). */
export function expressApp(): express.Express {
  const app = express();
  app.get("/", (_req, res) => void res.send(body()));
  app.get("/slow", async (req, res) => {
    await wait(slowMs(req.query.ms));
    res.send(body());
  });
  app.get("/deaf", () => {}); // never answers
  return app;
}

/** The Fastify 5 app, not yet ready (`ready()` or `listen()` is the caller's). */
export function fastifyApp(options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify(options);
  app.get("/", () => body());
  app.get<{ Querystring: { ms?: string } }>("/slow", async (req) => {
    await wait(slowMs(req.query.ms));
    return body();
  });
  app.get("/deaf", () => never());
  return app;
}

/** The Koa 3 app. */
export function koaApp(): Koa {
  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.path === "/slow") await wait(slowMs(ctx.query.ms));
    else if (ctx.path === "/deaf") await never();
    ctx.body = body();
  });
  return app;
}

/** `BENCH_FRAMEWORK`, checked. */
export function frameworkFromEnv(): Framework {
  const name = process.env.BENCH_FRAMEWORK ?? "";
  if (!(FRAMEWORKS as readonly string[]).includes(name)) {
    throw new RangeError(`Invalid BENCH_FRAMEWORK: expected ${FRAMEWORKS.join(", ")}, got ${name}`);
  }
  return name as Framework;
}
