/**
 * The fixture routes of cases_request.ts: the request as the handler sees it (identity,
 * copies, bodies, the proxy pattern, `request.signal` on disconnect, a body read after the
 * client left, absolute-form targets) and responses the bridge cannot send. An upstream
 * `node:http` server echoes requests for the proxy routes.
 *
 * @module
 */

import type { Hono } from "hono";
import type net from "node:net";
import type { Env } from "./fixture_app.ts";
import { emit } from "./fixture_output.ts";

/** Adds the `/req/*` routes to `app`; the proxy routes forward to `upstream()`'s port. */
export function addRequestRoutes(app: Hono<Env>, upstream: () => number): void {
  /** What a request and its copies look like, and whether the platform's operations work. */
  app.get("/req/identity", (c) => {
    const raw = c.req.raw;
    const attempt = (f: () => unknown): unknown => {
      try {
        return f();
      } catch (error) {
        return `threw ${String(error)}`;
      }
    };
    return c.json({
      url: raw.url,
      isRequest: raw instanceof Request,
      copyUrl: attempt(() => new Request(raw).url),
      copyIsRequest: attempt(() => new Request(raw) instanceof Request),
      cloneUrl: attempt(() => raw.clone().url),
      cloneHeader: attempt(() => raw.clone().headers.get("x-probe")),
      header: raw.headers.get("x-probe"),
    });
  });

  /** Reads the body with `how`, then again: the second read must throw the platform's TypeError. */
  app.post("/req/body/:how", async (c) => {
    const raw = c.req.raw;
    const how = c.req.param("how") as "json" | "formData" | "arrayBuffer" | "text";
    let value: unknown;
    if (how === "formData") value = Object.fromEntries(await raw.formData());
    else if (how === "arrayBuffer") value = [...new Uint8Array(await raw.arrayBuffer())];
    else value = await raw[how]();
    let again: string;
    try {
      await raw.text();
      again = "read twice without an error";
    } catch (error) {
      again = `${(error as Error).constructor.name}`;
    }
    return c.json({ value, again, bodyUsed: raw.bodyUsed });
  });

  /** Proxies to the upstream echo server: `new Request(upstream, request)` and `fetch(request)`. */
  app.all("/req/proxy/:how", async (c) => {
    const raw = c.req.raw;
    const target = `http://127.0.0.1:${upstream()}/echo`;
    const how = c.req.param("how");
    // `fetch(request)` itself: the client sent `Host: <upstream>`, so `request.url` points there.
    const response = how === "request" ? await fetch(raw) : await fetch(new Request(target, raw));
    return new Response(response.body, response);
  });

  /** Answers once `request.signal` aborts, which must happen when the client leaves. */
  app.get("/req/signal", (c) => {
    const signal = c.req.raw.signal;
    emit({ event: "entered", route: "/req/signal", id: "" });
    return new Promise<Response>((resolve) => {
      const report = () => {
        emit({ event: "request-signal", route: "/req/signal", reason: String(signal.reason) });
        resolve(new Response("aborted"));
      };
      if (signal.aborted) report();
      else signal.addEventListener("abort", report, { once: true });
    });
  });

  /** Reads the body only after the client left (`request.signal` aborted). */
  app.post("/req/late-body", (c) => {
    const raw = c.req.raw;
    emit({ event: "entered", route: "/req/late-body", id: "" });
    return new Promise<Response>((resolve) => {
      const read = () => {
        raw.text().then(
          (text) => emit({ event: "late-body", route: "/req/late-body", text }),
          (error) => emit({ event: "late-body", route: "/req/late-body", error: String(error) }),
        ).finally(() => resolve(new Response("read")));
      };
      if (raw.signal.aborted) read();
      else raw.signal.addEventListener("abort", read, { once: true });
    });
  });

  app.get("/req/url", (c) => c.text(c.req.raw.url));
  app.get("/req/url/*", (c) => c.text(c.req.raw.url)); // cases_url.ts

  /** Responses the bridge cannot send: they must get `onError`'s answer. */
  app.get("/req/broken/:kind", (c) => {
    if (c.req.param("kind") === "lookalike") return Object.create(Response.prototype) as Response;
    class ThrowingBody extends Response {
      override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
        throw new Error("body getter threw");
      }
    }
    return new ThrowingBody("never sent");
  });
}

/** Echoes method, path, the `x-probe` header and the body, for the proxy routes. */
export async function startUpstream(): Promise<number> {
  const { createServer } = await import("node:http");
  const upstream = createServer((incoming, outgoing) => {
    const chunks: Uint8Array[] = [];
    incoming.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      outgoing.writeHead(200, { "content-type": "application/json", "x-upstream": "1" });
      outgoing.end(JSON.stringify({
        method: incoming.method,
        url: incoming.url,
        probe: incoming.headers["x-probe"] ?? null,
        body,
      }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstream.unref();
  return (upstream.address() as net.AddressInfo).port;
}
