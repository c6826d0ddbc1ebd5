/**
 * The handler a benchmark server serves, chosen by `BENCH_APP`: unset or `plain` for
 * {@linkcode fetchHandler} (`new Response(body)`), `hono` for a Hono app answering the same
 * routes with `c.text()`.
 *
 * @module
 */

import process from "node:process";
import { Hono } from "hono";
import { BODY_16K, fetchHandler, HEADERS, HELLO } from "./routes.ts";

/** The handler selected by `BENCH_APP`. */
export function handlerFromEnv(): (request: Request) => Response | Promise<Response> {
  const app = process.env.BENCH_APP ?? "plain";
  if (app === "plain") return fetchHandler;
  if (app !== "hono") throw new RangeError(`Invalid BENCH_APP: expected plain or hono, got ${app}`);
  const hono = new Hono();
  hono.get("/16k", (c) => c.text(BODY_16K));
  hono.get("/headers", (c) => c.text(HELLO, 200, HEADERS));
  hono.get("*", (c) => c.text(HELLO));
  return hono.fetch;
}
