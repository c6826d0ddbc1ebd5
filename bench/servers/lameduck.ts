/**
 * lameduck serving the benchmark routes on whatever runtime runs this file.
 *
 *     deno run -A bench/servers/lameduck.ts | bun bench/servers/lameduck.ts | node bench/servers/lameduck.ts
 *
 * `BENCH_LAME_DUCK_MS` sets `lameDuck` (default 0). Everything else is lameduck's default:
 * SIGTERM/SIGINT start the graceful shutdown and the process exits when it is done.
 *
 * @module
 */

import { serve } from "../../mod.ts";
import { announce, appFetch, numberEnv, tlsFromEnv } from "./routes.ts";

const tls = tlsFromEnv();

serve({
  fetch: appFetch,
  port: 0,
  hostname: "127.0.0.1",
  lameDuck: numberEnv("BENCH_LAME_DUCK_MS", 0),
  logger: false,
  ...(tls ? { tls } : {}),
  onListen: ({ port }) => announce(port),
});
