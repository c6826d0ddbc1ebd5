/**
 * The bare runtime server serving the benchmark routes: `Deno.serve` on Deno, `Bun.serve` on
 * Bun, and on Node raw `node:http` with a `(req, res)` handler (no Fetch objects at all).
 *
 *     deno run -A bench/servers/bare.ts | bun bench/servers/bare.ts | node bench/servers/bare.ts
 *
 * With `BENCH_TLS_CERT` and `BENCH_TLS_KEY` (PEM files), each serves HTTPS (Node: `node:https`).
 * With `BENCH_GRACEFUL=1`, a SIGTERM handler runs the runtime's own graceful primitive and
 * exits when it resolves: Deno `server.shutdown()`, Bun `server.stop()`, Node `server.close()`
 * followed by `server.closeIdleConnections()`. Without it, SIGTERM kills the process.
 *
 * @module
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import process from "node:process";
import { handlerFromEnv } from "./app.ts";
import { announce, bodyFor, tlsFromEnv } from "./routes.ts";

const appFetch = handlerFromEnv();

interface DenoLike {
  serve(
    options: {
      port: number;
      hostname: string;
      cert?: string;
      key?: string;
      onListen: (a: { port: number }) => void;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): { shutdown(): Promise<void> };
  addSignalListener(signal: "SIGTERM", listener: () => void): void;
  exit(code: number): never;
}

interface BunLike {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request) => Response | Promise<Response>;
    tls?: { cert: string; key: string };
  }): { port: number; stop(closeActiveConnections?: boolean): Promise<void> };
}

const runtime = globalThis as unknown as { Deno?: DenoLike; Bun?: BunLike };
const graceful = process.env.BENCH_GRACEFUL === "1";
const hostname = "127.0.0.1";
const tls = tlsFromEnv();

if (runtime.Deno) {
  const deno = runtime.Deno;
  const server = deno.serve(
    { port: 0, hostname, ...(tls ?? {}), onListen: (a) => announce(a.port) },
    appFetch,
  );
  if (graceful) {
    deno.addSignalListener("SIGTERM", () => void server.shutdown().then(() => deno.exit(0)));
  }
} else if (runtime.Bun) {
  const server = runtime.Bun.serve({ port: 0, hostname, fetch: appFetch, ...(tls ? { tls } : {}) });
  announce(server.port);
  if (graceful) process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
} else {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const body = bodyFor(req.url ?? "/"); // ASCII: its length is its byte length
    res.writeHead(200, {
      "content-type": "text/plain;charset=UTF-8",
      "content-length": body.length,
    });
    res.end(body);
  };
  const server = tls ? createHttpsServer(tls, handler) : createServer(handler);
  server.listen(0, hostname, () => {
    const address = server.address();
    announce(typeof address === "object" && address ? address.port : 0);
  });
  if (graceful) {
    process.on("SIGTERM", () => {
      server.close(() => process.exit(0));
      server.closeIdleConnections();
    });
  }
}
