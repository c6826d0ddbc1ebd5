/**
 * The demo's baseline: the routes of `examples/fetch.ts` on the bare runtime server
 * (`Deno.serve`, `Bun.serve`, `node:http`), with no signal handler. SIGTERM then does what it
 * does by default: the process dies at once, whatever it was doing.
 *
 *     deno run -A scripts/demo/naive.ts | bun scripts/demo/naive.ts | node scripts/demo/naive.ts
 *
 * Environment: `PORT` (default 8000, `0` for a free port), `HOST` (default `0.0.0.0`). Prints
 * `listening on <url>` on stdout.
 *
 * @module
 */

import { createServer, type ServerResponse } from "node:http";
import process from "node:process";

interface DenoLike {
  serve(
    options: { port: number; hostname: string; onListen: (a: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): unknown;
}

interface BunLike {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (request: Request) => Response | Promise<Response>;
  }): { port: number };
}

const runtime = globalThis as unknown as { Deno?: DenoLike; Bun?: BunLike };
const port = Number(process.env.PORT ?? 8000);
const hostname = process.env.HOST ?? "0.0.0.0";
const encoder = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const slowMs = (url: URL): number =>
  Math.min(Number(url.searchParams.get("ms") ?? 1000) || 0, 30_000);

function listening(boundPort: number): void {
  console.log(`listening on http://${hostname}:${boundPort}/`);
}

/** The fetch handler for Deno and Bun: the same routes and bodies as the example. */
async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  switch (url.pathname) {
    case "/":
      return new Response("hello from lameduck\n");
    case "/readyz":
      return new Response("ok\n");
    case "/slow": {
      const ms = slowMs(url);
      await sleep(ms);
      return new Response(`slept ${ms} ms\n`);
    }
    case "/stream": {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          let i = 0;
          const tick = () => {
            controller.enqueue(encoder.encode(`chunk ${++i} of 5\n`));
            if (i === 5) controller.close();
            else timer = setTimeout(tick, 200);
          };
          tick();
        },
        cancel: () => clearTimeout(timer),
      });
      return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
    }
    default:
      return new Response("not found\n", { status: 404 });
  }
}

/** The same routes written directly against `node:http`. */
function nodeRoutes(url: URL, res: ServerResponse): void {
  const text = (status: number, body: string) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    res.end(body);
  };
  switch (url.pathname) {
    case "/":
      return text(200, "hello from lameduck\n");
    case "/readyz":
      return text(200, "ok\n");
    case "/slow": {
      const ms = slowMs(url);
      const timer = setTimeout(() => text(200, `slept ${ms} ms\n`), ms);
      res.once("close", () => clearTimeout(timer));
      return;
    }
    case "/stream": {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      let i = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = () => {
        res.write(`chunk ${++i} of 5\n`);
        if (i === 5) res.end();
        else timer = setTimeout(tick, 200);
      };
      res.once("close", () => clearTimeout(timer));
      return tick();
    }
    default:
      return text(404, "not found\n");
  }
}

if (runtime.Deno) {
  runtime.Deno.serve({ port, hostname, onListen: (a) => listening(a.port) }, handler);
} else if (runtime.Bun) {
  listening(runtime.Bun.serve({ port, hostname, fetch: handler }).port);
} else {
  const server = createServer((req, res) => nodeRoutes(new URL(req.url ?? "/", "http://x"), res));
  server.listen(port, hostname, () => {
    const address = server.address();
    listening(typeof address === "object" && address ? address.port : port);
  });
}
