/**
 * `@hono/node-server` (as pinned in package.json, default options: it replaces the global
 * `Request`/`Response` with its own lighter ones) serving the benchmark routes on Node. No
 * signal handler: only used for throughput. `BENCH_APP=hono` serves a Hono app (`app.ts`).
 *
 *     node bench/servers/hono_node.ts
 *
 * @module
 */

import { serve } from "@hono/node-server";
import { handlerFromEnv } from "./app.ts";
import { announce } from "./routes.ts";

serve({ fetch: handlerFromEnv(), port: 0, hostname: "127.0.0.1" }, (info) => announce(info.port));
