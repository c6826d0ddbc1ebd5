/**
 * The fixture routes of cases_send.ts: responses a runtime's server must never be handed as
 * they are (a field value with a control character, `Response.error()`, a body already read or
 * locked) and body streams that fail before their first chunk or midway.
 *
 * @module
 */

import type { Hono } from "hono";
import type { Env } from "./fixture_app.ts";

const encoder = new TextEncoder();

/** The message of every error these routes' streams fail with. */
export const SEND_SECRET = "send-secret stream failed";

/** Adds the `/send/*` routes to `app`. */
export function addSendRoutes(app: Hono<Env>): void {
  // The pattern of the issue: a query parameter copied into a header.
  app.get("/send/field", (c) => {
    const name = c.req.query("name") ?? "report.csv";
    return new Response("a,b\n", {
      headers: { "content-disposition": `attachment; filename="${name}"` },
    });
  });
  app.get("/send/error", () => Response.error());
  app.get("/send/used", async () => {
    const response = new Response("read already");
    await response.text();
    return response;
  });
  app.get("/send/locked", () => {
    const response = new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(encoder.encode("locked"));
          controller.close();
        },
      }),
    );
    response.body!.getReader();
    return response;
  });
  app.get("/send/stream-early", () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.error(new Error(SEND_SECRET));
        },
      }),
    ));
  app.get("/send/stream-midway", (c) => midway(c.req.query("watch") !== undefined, c.env));
}

/** A stream that sends one chunk, then fails; `watch` reads `ctx.signal` first. */
export function midway(watch: boolean, ctx: { signal: AbortSignal }): Response {
  if (watch) void ctx.signal.aborted;
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        controller.enqueue(encoder.encode("part 0\n"));
        await new Promise((resolve) => setTimeout(resolve, 50));
        controller.error(new Error(SEND_SECRET));
      },
    }),
  );
}
