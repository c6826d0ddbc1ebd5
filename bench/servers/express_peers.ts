/**
 * The Express app of `framework_apps.ts` (Fastify's for `fastify-close`) behind one graceful
 * shutdown library on Node, chosen by `BENCH_PEER`, each used as its README shows it, with its
 * defaults except the deadline, set to `BENCH_DEADLINE_MS` (400 ms unless set) wherever the
 * library offers one:
 *
 * - `lameduck`: `serve({ listener: app, drainTimeout })` (and `lameDuck: BENCH_LAME_DUCK_MS`,
 *   0 unless set); lameduck handles SIGTERM and exits (0 graceful, 1 forced);
 * - `http-terminator`: `createHttpTerminator({ server, gracefulTerminationTimeout })`, and on
 *   SIGTERM `await terminate()`, then exit 0;
 * - `terminus`: `createTerminus(server, { timeout })`; terminus handles SIGTERM and, when done,
 *   re-raises it (its default `useExit0: false`), so the process ends by the signal;
 * - `stoppable`: `stoppable(server, grace)`, and on SIGTERM `server.stop()`, exiting 0 when its
 *   callback says the stop was graceful, else 1;
 * - `close-with-grace`: `closeWithGrace({ delay }, () => close the server)`; it handles
 *   SIGTERM and exits (0, or 1 when the delay ran out);
 * - `fastify-close`: Fastify with `forceCloseConnections: "idle"`, and on SIGTERM
 *   `await app.close()`, then exit 0. Fastify's `close()` has no deadline.
 *
 *     BENCH_PEER=stoppable node bench/servers/express_peers.ts
 *
 * Prints `listening <port>` once it accepts connections.
 *
 * @module
 */

import { createServer, type Server as HttpServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { createTerminus } from "@godaddy/terminus";
import closeWithGrace from "close-with-grace";
import { createHttpTerminator } from "http-terminator";
import { expressApp, fastifyApp } from "./framework_apps.ts";
import { announce, numberEnv } from "./routes.ts";

/** stoppable 1.1.0 ships no types: its README's API. */
type Stoppable = (
  server: HttpServer,
  grace?: number,
) => HttpServer & { stop(callback?: (error: Error | undefined, graceful: boolean) => void): void };
const stoppable = createRequire(import.meta.url)("stoppable") as Stoppable;

const peer = process.env.BENCH_PEER ?? "";
const deadline = numberEnv("BENCH_DEADLINE_MS", 400);
const hostname = "127.0.0.1";

/** Listens on 127.0.0.1, port 0, and announces the port. */
function listen(server: HttpServer): void {
  server.listen(0, hostname, () => announce((server.address() as AddressInfo).port));
}

if (peer === "lameduck") {
  const entry = process.env.BENCH_LAMEDUCK_ENTRY || process.env.BENCH_NODE_PACKAGE ||
    "../../mod.ts";
  const { serve } = await import(entry) as typeof import("../../mod.ts");
  serve({
    listener: expressApp(),
    drainTimeout: deadline,
    lameDuck: numberEnv("BENCH_LAME_DUCK_MS", 0),
    port: 0,
    hostname,
    logger: false,
    onListen: ({ port }) => announce(port),
  });
} else if (peer === "http-terminator") {
  const server = createServer(expressApp());
  const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: deadline });
  process.once("SIGTERM", () => void terminator.terminate().then(() => process.exit(0)));
  listen(server);
} else if (peer === "terminus") {
  const server = createServer(expressApp());
  createTerminus(server, { timeout: deadline });
  listen(server);
} else if (peer === "stoppable") {
  const server = stoppable(createServer(expressApp()), deadline);
  process.once("SIGTERM", () => server.stop((e, graceful) => process.exit(!e && graceful ? 0 : 1)));
  listen(server);
} else if (peer === "close-with-grace") {
  const server = createServer(expressApp());
  closeWithGrace({ delay: deadline }, async () => {
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  });
  listen(server);
} else if (peer === "fastify-close") {
  const app = fastifyApp({ forceCloseConnections: "idle" });
  process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
  await app.listen({ port: 0, host: hostname });
  announce((app.server.address() as AddressInfo).port);
} else {
  throw new RangeError(`Invalid BENCH_PEER: unknown peer ${peer}`);
}
