/**
 * srvx (as pinned in package.json) serving the benchmark routes on Node, with the same handler
 * as every other server (a plain `Response`, not srvx's `FastResponse`). Its own signal
 * handling is off: only used for throughput.
 *
 *     node bench/servers/srvx_node.ts
 *
 * @module
 */

import { serve } from "srvx";
import { announce, fetchHandler } from "./routes.ts";

const server = serve({
  fetch: fetchHandler,
  port: 0,
  hostname: "127.0.0.1",
  silent: true,
  gracefulShutdown: false,
});
await server.ready();
announce(Number(new URL(server.url ?? "http://127.0.0.1:0/").port));
