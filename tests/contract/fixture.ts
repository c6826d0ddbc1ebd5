/**
 * The contract suite's server program, run as a child process by each runtime:
 *
 *     deno run -A tests/contract/fixture.ts
 *     bun tests/contract/fixture.ts
 *     node tests/contract/fixture.ts        (Node 24: native type stripping)
 *
 * Configuration comes as JSON in the `FIXTURE` environment variable. Fixture-only switches:
 * - `mode`: `"serve"` (default) or `"selftest"` (in-process API checks, contract cases 13-14);
 * - `hooks`: `[{ name, kind: "ok" | "throw" | "hang", ms?, timeout? }]`, registered in order;
 * - `trace`: write a `fetch` line for every request that reaches the Hono app;
 * - `onErrorText`: pass an `onError` that answers `500` with `onError: <error>`.
 * In serve mode an upstream `node:http` server echoes requests for the `/req/*` routes (its
 * port is in the `ready` line).
 * Everything else is passed to `serve()` (after `port: 0, hostname: "127.0.0.1"`).
 *
 * `LAMEDUCK_MODULE` (a URL) makes the fixture take `serve` from there instead of the sources:
 * tests/package/ points it at the npm package installed from its tarball.
 *
 * Output: one JSON object per line on stdout (written synchronously so nothing is lost when
 * the library exits the process): `ready`, `log` (every logger event), `entered`, `aborted`,
 * `cancel`, `hook-run`, `finished`, `check` (selftest), ...
 *
 * @module
 */

import { writeSync } from "node:fs";
import net from "node:net";
import process from "node:process";
import { Hono } from "hono";
import type { Context } from "hono";
import type { LifecycleEvent, RequestContext, ServeOptions, Server } from "../../mod.ts";
import { INVALID_OPTIONS, MISSING } from "./invalid_options.ts";

const lameduck: typeof import("../../mod.ts") = process.env.LAMEDUCK_MODULE
  ? await import(process.env.LAMEDUCK_MODULE)
  : await import("../../mod.ts");
const { serve } = lameduck;

// ---------------------------------------------------------------------------------------------
// Output

function plain(value: unknown): unknown {
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Error) return String(v);
    if (typeof Request !== "undefined" && v instanceof Request) return `${v.method} ${v.url}`;
    if (typeof v === "bigint") return String(v);
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    return v;
  });
  return json === undefined ? null : JSON.parse(json);
}

function emit(record: Record<string, unknown>): void {
  const bytes = new TextEncoder().encode(JSON.stringify(plain(record)) + "\n");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Configuration

interface HookSpec {
  name: string;
  kind?: "ok" | "throw" | "hang";
  ms?: number;
  timeout?: number;
}

interface FixtureConfig {
  mode?: "serve" | "selftest";
  hooks?: HookSpec[];
  trace?: boolean;
  onErrorText?: boolean;
  [option: string]: unknown;
}

const config = JSON.parse(process.env.FIXTURE ?? "{}") as FixtureConfig;
const { mode = "serve", hooks = [], trace = false, onErrorText = false, ...passThrough } = config;

// ---------------------------------------------------------------------------------------------
// The Hono app (its `fetch` is handed to `serve()` unchanged)

type Env = { Bindings: RequestContext };
type ConnInfoFn = (c: Context<Env>) => unknown;

let server: Server | undefined;
let getConnInfo: ConnInfoFn | undefined;

function watchSignal(route: string, ctx: RequestContext, id: string): void {
  const report = () => emit({ event: "aborted", route, id, reason: String(ctx.signal.reason) });
  if (ctx.signal.aborted) report();
  else ctx.signal.addEventListener("abort", report, { once: true });
}

const encoder = new TextEncoder();
const app = new Hono<Env>();

app.use("*", async (c, next) => {
  if (trace) {
    const url = new URL(c.req.url);
    emit({ event: "fetch", method: c.req.method, path: url.pathname + url.search });
  }
  await next();
});

app.get("/fast", (c) => c.text("fast"));

// WebSockets through Hono's own helper on the runtimes where lameduck serves them (Deno, Bun).
interface WebSocketHelpers {
  upgradeWebSocket: (create: (c: Context) => Record<string, unknown>) => never;
  websocket?: unknown;
}
const g = globalThis as Record<string, unknown>;
const wsHelpers: WebSocketHelpers | undefined = g.Deno
  ? (await import("hono/deno")) as unknown as WebSocketHelpers
  : g.Bun
  ? (await import("hono/bun")) as unknown as WebSocketHelpers
  : undefined;
if (wsHelpers) {
  app.get(
    "/ws",
    wsHelpers.upgradeWebSocket(() => ({
      onOpen: () => emit({ event: "ws-open", route: "/ws" }),
      onMessage: (event: { data: unknown }, ws: { send(data: string): void }) =>
        ws.send(`echo ${String(event.data)}`),
      onClose: (event: { code: number }) =>
        emit({ event: "ws-close", route: "/ws", code: event.code }),
    })),
  );
}

app.get("/slow", async (c) => {
  const ms = Number(c.req.query("ms") ?? "1000");
  const id = c.req.query("id") ?? "";
  emit({ event: "entered", route: "/slow", id });
  watchSignal("/slow", c.env, id);
  await sleep(ms);
  emit({ event: "handled", route: "/slow", id });
  return c.text(`slow done after ${ms} ms`);
});

app.get("/stream", (c) => {
  const n = Number(c.req.query("n") ?? "5");
  const ms = Number(c.req.query("ms") ?? "200");
  emit({ event: "entered", route: "/stream", id: "" });
  watchSignal("/stream", c.env, "");
  let timer: ReturnType<typeof setTimeout> | undefined;
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = () => {
        controller.enqueue(encoder.encode(`chunk ${i}\n`));
        i++;
        if (i >= n) {
          controller.close();
          emit({ event: "stream-done", route: "/stream" });
        } else {
          timer = setTimeout(tick, ms);
        }
      };
      tick();
    },
    cancel(reason) {
      clearTimeout(timer);
      emit({ event: "cancel", route: "/stream", reason: String(reason) });
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
});

app.get("/stream-forever", (c) => {
  emit({ event: "entered", route: "/stream-forever", id: "" });
  watchSignal("/stream-forever", c.env, "");
  let timer: ReturnType<typeof setInterval> | undefined;
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(`tick ${i++}\n`));
        } catch {
          clearInterval(timer);
        }
      }, 50);
    },
    cancel(reason) {
      clearInterval(timer);
      emit({ event: "cancel", route: "/stream-forever", reason: String(reason) });
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
});

app.get("/never", (c) => {
  emit({ event: "entered", route: "/never", id: "" });
  watchSignal("/never", c.env, "");
  return new Promise<Response>(() => {});
});

app.get("/conninfo", (c) => {
  if (!getConnInfo) return c.text("getConnInfo not loaded", 500);
  return c.json({ conninfo: getConnInfo(c), remoteAddr: c.env.remoteAddr });
});

app.get("/inflight", (c) => c.json({ inFlight: server?.inFlight ?? null }));

app.get(
  "/state",
  (c) => c.json({ state: server?.state ?? null, shutdown: c.env.shutdown.aborted }),
);

app.get("/throw", () => {
  throw new Error("boom from /throw");
});

// ---------------------------------------------------------------------------------------------
// The request as the handler sees it (cases_request.ts)

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

let upstreamPort = 0;
/** Proxies to the upstream echo server: `new Request(upstream, request)` and `fetch(request)`. */
app.all("/req/proxy/:how", async (c) => {
  const raw = c.req.raw;
  const upstream = `http://127.0.0.1:${upstreamPort}/echo`;
  const how = c.req.param("how");
  // `fetch(request)` itself: the client sent `Host: <upstream>`, so `request.url` points there.
  const response = how === "request" ? await fetch(raw) : await fetch(new Request(upstream, raw));
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

/** Echoes method, path, the `x-probe` header and the body, for the proxy routes. */
async function startUpstream(): Promise<void> {
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
  upstreamPort = (upstream.address() as net.AddressInfo).port;
}

// ---------------------------------------------------------------------------------------------
// Serve mode

function makeHook(spec: HookSpec): () => Promise<void> {
  return async () => {
    emit({ event: "hook-run", name: spec.name, inFlight: server?.inFlight, state: server?.state });
    if (spec.kind === "throw") throw new Error(`hook ${spec.name} failed on purpose`);
    if (spec.kind === "hang") return new Promise<void>(() => {});
    if (spec.ms) await sleep(spec.ms);
    emit({ event: "hook-done", name: spec.name });
  };
}

async function loadConnInfo(runtime: string): Promise<ConnInfoFn> {
  if (runtime === "deno") return (await import("hono/deno")).getConnInfo as ConnInfoFn;
  if (runtime === "bun") return (await import("hono/bun")).getConnInfo as ConnInfoFn;
  return (await import("@hono/node-server/conninfo")).getConnInfo as ConnInfoFn;
}

async function serveMode(): Promise<void> {
  const options = {
    port: 0,
    hostname: "127.0.0.1",
    ...passThrough,
    ...(wsHelpers?.websocket ? { websocket: wsHelpers.websocket } : {}),
    ...(onErrorText
      ? { onError: (error: unknown) => new Response(`onError: ${String(error)}`, { status: 500 }) }
      : {}),
    fetch: app.fetch,
    logger: (e: LifecycleEvent) => {
      const { type, ...rest } = e;
      emit({ event: "log", type, ...rest });
    },
  } as ServeOptions;
  const s = serve(options);
  server = s;
  for (const spec of hooks) {
    s.onShutdown(makeHook(spec), {
      name: spec.name,
      ...(spec.timeout === undefined ? {} : { timeout: spec.timeout }),
    });
  }
  s.finished.then(
    (report) => emit({ event: "finished", report }),
    (error) => emit({ event: "finished-rejected", error: String(error) }),
  );
  getConnInfo = await loadConnInfo(s.runtime);
  await startUpstream();
  try {
    const address = await s.ready;
    emit({
      event: "ready",
      port: address.port,
      hostname: address.hostname,
      url: address.url,
      runtime: s.runtime,
      upstreamPort,
    });
  } catch (error) {
    emit({ event: "ready-rejected", error: String(error) });
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------
// Selftest mode (contract cases 13 and 14): in-process API checks, one `check` line each

const quiet = {
  port: 0,
  hostname: "127.0.0.1",
  signals: false,
  logger: false,
  exit: false,
} as const;
const hello = (): Response => new Response("hello");

async function check(name: string, body: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    const result = await within(body(), 8_000, name);
    emit({ event: "check", check: name, ...result });
  } catch (error) {
    emit({ event: "check", check: name, failure: String(error) });
  }
}

function invalidOptions(): void {
  for (const row of INVALID_OPTIONS) {
    const options: Record<string, unknown> = { ...quiet, fetch: hello };
    if (row.value === MISSING) delete options[row.option];
    else options[row.option] = row.value;
    try {
      const s = serve(options as unknown as ServeOptions);
      s.finished.catch(() => {});
      s.ready.catch(() => {});
      s.close().catch(() => {});
      emit({ event: "check", check: "invalid-option", label: row.label, threw: false });
    } catch (error) {
      const e = error as Error;
      emit({
        event: "check",
        check: "invalid-option",
        label: row.label,
        threw: true,
        errorName: e?.constructor?.name ?? typeof error,
        isTypeOrRangeError: error instanceof TypeError || error instanceof RangeError,
        message: String(e?.message ?? error),
      });
    }
  }
}

async function shutdownTwice(): Promise<Record<string, unknown>> {
  const s = serve({ ...quiet, fetch: hello });
  await s.ready;
  const first = s.shutdown();
  const second = s.shutdown({ reason: "second call" });
  const report = await within(first, 3_000, "shutdown()");
  const third = s.shutdown();
  const finished = await within(s.finished, 3_000, "finished");
  return {
    sameSecond: first === second,
    sameAfterClosed: first === third,
    finishedSameReport: finished === report,
    state: s.state,
    report,
  };
}

async function closeAfterShutdown(): Promise<Record<string, unknown>> {
  let ctxAborted = false;
  let entered!: () => void;
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  const s = serve({
    ...quiet,
    drainTimeout: 10_000,
    fetch: (_request, ctx) => {
      ctx.signal.addEventListener("abort", () => (ctxAborted = true), { once: true });
      entered();
      return new Promise<Response>(() => {});
    },
  });
  const address = await s.ready;
  const client = fetch(`http://127.0.0.1:${address.port}/hang`).then(
    (r) => `status ${r.status}`,
    (e) => `error: ${String(e)}`,
  );
  await within(enteredPromise, 3_000, "the handler to be entered");
  const graceful = s.shutdown();
  let gracefulSettledEarly = false;
  graceful.then(() => (gracefulSettledEarly = true), () => (gracefulSettledEarly = true));
  await sleep(150);
  const stateBeforeClose = s.state;
  const settledBeforeClose = gracefulSettledEarly;
  const t0 = performance.now();
  const closeReport = await within(s.close(), 3_000, "close()");
  const closeMs = performance.now() - t0;
  const shutdownReport = await within(graceful, 3_000, "the shutdown() promise after close()");
  const clientOutcome = await within(client, 3_000, "the client").catch((e) => String(e));
  return {
    stateBeforeClose,
    settledBeforeClose,
    closeMs,
    closeReport,
    shutdownReport,
    ctxAborted,
    stateAfter: s.state,
    clientOutcome,
  };
}

async function awaitUsing(): Promise<Record<string, unknown>> {
  const { usingScope } = await import("./using_scope.ts");
  return { ...(await usingScope(serve)) };
}

function listenBlocker(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const blocker = net.createServer();
    blocker.once("error", reject);
    blocker.listen(0, "127.0.0.1", () => resolve(blocker));
  });
}

async function readyOutcome(port: number): Promise<string> {
  let s: Server;
  try {
    s = serve({ ...quiet, port, fetch: hello });
  } catch (error) {
    return `serve() threw: ${String(error)}`;
  }
  s.finished.catch(() => {});
  const outcome = await within(
    s.ready.then(
      (a) => `resolved: ${JSON.stringify(a)}`,
      (e) => `rejected: ${String(e)}`,
    ),
    3_000,
    "ready to settle",
  ).catch((e) => String(e));
  if (outcome.startsWith("resolved")) await within(s.close(), 2_000, "close").catch(() => {});
  return outcome;
}

async function readyRejects(): Promise<Record<string, unknown>> {
  const blocker = await listenBlocker();
  const port = (blocker.address() as net.AddressInfo).port;
  const byNetServer = await readyOutcome(port);
  await new Promise<void>((resolve) => blocker.close(() => resolve()));

  const first = serve({ ...quiet, fetch: hello });
  const { port: taken } = await first.ready;
  const byLameduck = await readyOutcome(taken);
  await within(first.close(), 2_000, "close").catch(() => {});
  return { byNetServer, byLameduck };
}

async function selftest(): Promise<void> {
  invalidOptions();
  await check("shutdown-twice", shutdownTwice);
  await check("close-after-shutdown", closeAfterShutdown);
  await check("await-using", awaitUsing);
  await check("ready-rejects", readyRejects);
  emit({ event: "selftest-done" });
  process.exit(0);
}

if (mode === "selftest") await selftest();
else await serveMode();
