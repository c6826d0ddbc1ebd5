/**
 * The server program of tests/torture/send_test.ts: handlers whose responses the wire cannot
 * carry as they are (wrong framing fields, hop-by-hop fields, a decoded `fetch()` result, bodies
 * that fail, a field value with a control character). `onError` answers `599` with a marker
 * body, so a test can tell its answer from lameduck's own `500`; asked with `?twice`, its answer
 * is itself unsendable.
 *
 * Configuration: JSON in `FIXTURE` (`SendConfig`): `upstream` is the port of the test's
 * node:http upstream, the rest goes to `serve()`. Output: JSON lines on stdout, `ready` and
 * `log` (every logger event, the request as `METHOD url`).
 *
 * @module
 */

import { writeSync } from "node:fs";
import process from "node:process";
import { serve } from "../../mod.ts";
import type { LifecycleEvent, ServeOptions } from "../../mod.ts";
import type { SendConfig } from "../shared/fixture_config.ts";

function emit(record: Record<string, unknown>): void {
  const line = JSON.stringify(record, (_key, value) => {
    if (value instanceof Error) return String(value);
    if (value instanceof Request) return `${value.method} ${value.url}`;
    return value;
  });
  writeSync(1, line + "\n");
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();
const { upstream = 0, ...options } = JSON.parse(process.env.FIXTURE ?? "{}") as SendConfig;

/** Two chunks, a tick apart: a body whose length the bridge cannot know in advance. */
function twoChunks(text: string): ReadableStream<Uint8Array> {
  const half = Math.floor(text.length / 2);
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(text.slice(0, half)));
      await sleep(20);
      controller.enqueue(encoder.encode(text.slice(half)));
      controller.close();
    },
  });
}

async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const query = url.searchParams;
  switch (url.pathname) {
    case "/fast":
      return new Response("fast");
    case "/length": {
      // A wrong Content-Length: shorter or longer than the body.
      const headers = { "content-length": query.get("cl") ?? "2" };
      if (query.has("stream")) return new Response(twoChunks("hello world"), { headers });
      return new Response("hello world", { headers });
    }
    case "/chunked":
      return new Response("hello", { headers: { "transfer-encoding": "chunked" } });
    case "/hop":
      return new Response("hop", {
        headers: {
          connection: "keep-alive, x-private",
          "keep-alive": "timeout=99",
          upgrade: "websocket",
          "proxy-connection": "keep-alive",
          te: "trailers",
          trailer: "x-checksum",
          "x-private": "kept",
        },
      });
    case "/not-modified":
      return new Response(null, {
        status: 304,
        headers: { "content-length": "99", "transfer-encoding": "chunked", etag: '"a"' },
      });
    case "/proxy":
      return fetch(`http://127.0.0.1:${upstream}/gzip`);
    case "/error-first":
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.error(new Error("the body failed before its first chunk"));
          },
        }),
      );
    case "/used": {
      const response = new Response("already read");
      await response.text();
      return response;
    }
    case "/locked": {
      const response = new Response(twoChunks("locked body"));
      response.body!.getReader();
      return response;
    }
    case "/network-error":
      return Response.error();
    case "/attachment": {
      // A query parameter copied into a field value: `?name=a%01b` puts a control byte there.
      const name = query.get("name") ?? "file";
      return new Response("file", {
        headers: { "content-disposition": `attachment; filename="${name}"` },
      });
    }
    case "/mid-error":
      return new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(encoder.encode("part 0\n"));
            await sleep(50);
            controller.error(new Error("the body failed midway"));
          },
        }),
      );
    default:
      return new Response("not found", { status: 404 });
  }
}

function onError(error: unknown, request: Request): Response {
  const marker = `onError: ${(error as Error)?.message ?? String(error)}`;
  const headers: Record<string, string> = { "x-on-error": "yes" };
  if (new URL(request.url).searchParams.has("twice")) headers["x-bad"] = "a\x01b";
  return new Response(marker, { status: 599, headers });
}

const server = serve({
  port: 0,
  hostname: "127.0.0.1",
  ...options,
  fetch: handler,
  onError,
  logger: (e: LifecycleEvent) => {
    const { type, ...rest } = e;
    emit({ event: "log", type, ...rest });
  },
} as ServeOptions);
const address = await server.ready;
emit({ event: "ready", port: address.port, runtime: server.runtime });
