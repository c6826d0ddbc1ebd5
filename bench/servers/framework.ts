/**
 * A framework app (`framework_apps.ts`, chosen by `BENCH_FRAMEWORK=express|fastify|koa`) served
 * on Node the way `BENCH_SERVE` says:
 *
 * - `lameduck`: `serve({ listener })` with lameduck's defaults (Express: the app; Fastify:
 *   `app.routing` after `await app.ready()`; Koa: `app.callback()`); under `lameduck run` it
 *   serves the inherited socket;
 * - `listen`: the framework's own `listen` on 127.0.0.1, port 0 (Express `app.listen`, Fastify
 *   `app.listen`, Koa `app.listen`), no signal handler: SIGTERM kills it;
 * - `pm2`: Express's `app.listen(PORT)` as PM2's cluster mode expects it: `process.send("ready")`
 *   once listening (for `wait_ready`), and the usual `server.close()` on SIGINT, exiting when it
 *   calls back.
 *
 *     BENCH_FRAMEWORK=express BENCH_SERVE=lameduck node bench/servers/framework.ts
 *
 * Prints `listening <port>` once it accepts connections.
 *
 * @module
 */

import type { AddressInfo } from "node:net";
import type { Server as HttpServer } from "node:http";
import process from "node:process";
import {
  expressApp,
  fastifyApp,
  frameworkFromEnv,
  koaApp,
  type Listener,
} from "./framework_apps.ts";
import { announce } from "./routes.ts";

const framework = frameworkFromEnv();
const how = process.env.BENCH_SERVE ?? "";
const hostname = "127.0.0.1";
const portOf = (server: HttpServer): number => (server.address() as AddressInfo).port;

if (how === "lameduck") {
  const entry = process.env.BENCH_LAMEDUCK_ENTRY || process.env.BENCH_NODE_PACKAGE ||
    "../../mod.ts";
  const { serve } = await import(entry) as typeof import("../../mod.ts");
  let listener: Listener;
  if (framework === "express") listener = expressApp();
  else if (framework === "koa") listener = koaApp().callback();
  else {
    const app = fastifyApp();
    await app.ready();
    listener = app.routing;
  }
  serve({
    listener,
    port: 0,
    hostname,
    logger: false,
    onListen: ({ port }) => announce(port),
  });
} else if (how === "listen") {
  if (framework === "fastify") {
    const app = fastifyApp();
    await app.listen({ port: 0, host: hostname });
    announce(portOf(app.server));
  } else {
    const app = framework === "express" ? expressApp() : koaApp();
    const server: HttpServer = app.listen(0, hostname, () => announce(portOf(server)));
  }
} else if (how === "pm2" && framework === "express") {
  const server = expressApp().listen(Number(process.env.PORT), hostname, () => {
    announce(portOf(server));
    process.send?.("ready");
  });
  process.on("SIGINT", () => server.close(() => process.exit(0)));
} else {
  throw new RangeError(
    `Invalid BENCH_SERVE: expected lameduck, listen or (Express only) pm2, got ${how}`,
  );
}
