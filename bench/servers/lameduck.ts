/**
 * lameduck serving the benchmark routes on whatever runtime runs this file.
 *
 *     deno run -A bench/servers/lameduck.ts | bun bench/servers/lameduck.ts | node bench/servers/lameduck.ts
 *
 * `BENCH_LAME_DUCK_MS` sets `lameDuck` (default 0), `BENCH_APP=hono` serves a Hono app
 * (`app.ts`), `BENCH_LAMEDUCK_ENTRY` imports lameduck from that file instead of this checkout's,
 * `BENCH_OVERRIDE_GLOBALS=0` or `1` sets `overrideGlobals: false` or `true`. Everything else is
 * lameduck's default:
 * SIGTERM/SIGINT start the graceful shutdown and the process exits when it is done.
 *
 * @module
 */

import process from "node:process";
import { handlerFromEnv } from "./app.ts";
import { announce, numberEnv, tlsFromEnv } from "./routes.ts";

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
// `BENCH_LAMEDUCK_ENTRY`: another checkout's library (bench/ab.ts).
const entry = process.env.BENCH_LAMEDUCK_ENTRY ||
  onNode && process.env.BENCH_NODE_PACKAGE || "../../mod.ts";
const { serve } = await import(entry) as typeof import("../../mod.ts");
const tls = tlsFromEnv();

serve({
  fetch: handlerFromEnv(),
  ...(process.env.BENCH_OVERRIDE_GLOBALS === "0" ? { overrideGlobals: false } : {}),
  ...(process.env.BENCH_OVERRIDE_GLOBALS === "1" ? { overrideGlobals: true } : {}),
  port: 0,
  hostname: "127.0.0.1",
  lameDuck: numberEnv("BENCH_LAME_DUCK_MS", 0),
  logger: false,
  ...(tls ? { tls } : {}),
  onListen: ({ port }) => announce(port),
});
