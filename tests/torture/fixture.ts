/**
 * The torture suite's server program, run as a child process by each runtime through
 * tests/contract/fixture_process.ts
 * (`start(runtime, config, timeout, "tests/torture/fixture.ts")`).
 * Unlike the contract fixture it hands `serve()` a plain fetch function, not a Hono app: Hono
 * catches handler errors itself, and here every failure must reach lameduck.
 *
 * Configuration comes as JSON in `FIXTURE`. Fixture-only switches:
 * - `servers`: how many servers to start in this process (default 1), all with the same options;
 * - `hooks`: `[{ server, name, kind: "ok" | "throw" }]`;
 * - `selfSignal`: a signal this process sends itself just before calling `serve()`, so it is
 *   pending while the server starts (a no-op listener keeps the default action away);
 * - `traceSignals`: signals to report with a `signal` line each time one arrives;
 * - `probe`: on `SIGUSR2`, write an `inflight` line with every server's `inFlight` and `state`;
 * - `stayAlive`: keep the process alive this many ms after the servers closed.
 * Everything else is passed to `serve()` (after `port: 0, hostname: "127.0.0.1"`).
 *
 * Output: JSON lines on stdout: `ready` (once every server listens; `port` is the first one's,
 * `ports` all of them), `log`, `entered`, `aborted`, `cancel`, `finished`, `signal`, `inflight`.
 *
 * @module
 */

import { writeSync } from "node:fs";
import process from "node:process";
import { serve } from "../../mod.ts";
import type { LifecycleEvent, RequestContext, ServeOptions, Server } from "../../mod.ts";

/** Appears in every error a handler throws: it must never reach a client. */
const SECRET = "torture-secret";

function emit(record: Record<string, unknown>): void {
  const bytes = new TextEncoder().encode(JSON.stringify(record, plain) + "\n");
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    }
  }
}

function plain(_key: string, value: unknown): unknown {
  if (value instanceof Error) return String(value);
  if (value instanceof Request) return `${value.method} ${value.url}`;
  return value;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();

interface HookSpec {
  server?: number;
  name: string;
  kind?: "ok" | "throw";
}

interface Config {
  servers?: number;
  hooks?: HookSpec[];
  selfSignal?: string;
  traceSignals?: string[];
  probe?: boolean;
  stayAlive?: number;
  [option: string]: unknown;
}

const config = JSON.parse(process.env.FIXTURE ?? "{}") as Config;
const {
  servers: count = 1,
  hooks = [],
  selfSignal,
  traceSignals = [],
  probe = false,
  stayAlive = 0,
  ...options
} = config;

/** A stream that enqueues `text` every `ms` until cancelled, ignoring every signal. */
function endless(route: string, text: string, ms: number): ReadableStream<Uint8Array> {
  let timer: ReturnType<typeof setInterval> | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          clearInterval(timer);
        }
      }, ms);
    },
    cancel() {
      clearInterval(timer);
      emit({ event: "cancel", route });
    },
  });
}

/** `mb` MiB in 64 KiB chunks, made on demand (backpressure holds it when the client stalls). */
function big(route: string, mb: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(120);
  let left = mb * 16;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left-- > 0) controller.enqueue(chunk.slice());
      else controller.close();
    },
    cancel() {
      emit({ event: "cancel", route });
    },
  }, { highWaterMark: 0 });
}

const NOT_RESPONSES: Record<string, () => unknown> = {
  object: () => ({ status: 200, body: SECRET }),
  string: () => `${SECRET} string`,
  undefined: () => undefined,
  null: () => null,
  number: () => 42,
  "promise-object": () => Promise.resolve({ body: SECRET }),
  "promise-undefined": () => Promise.resolve(undefined),
  thenable: () => ({ then: (resolve: (v: unknown) => void) => resolve(new Response("x")) }),
};

function handler(request: Request, ctx: RequestContext): unknown {
  const url = new URL(request.url);
  const route = url.pathname;
  const query = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
  if (route !== "/fast" && route !== "/echo") emit({ event: "entered", route });
  if (url.searchParams.has("watch")) {
    ctx.signal.addEventListener("abort", () => emit({ event: "aborted", route }), { once: true });
  }
  switch (route) {
    case "/fast":
      return new Response("fast");
    case "/echo":
      return request.text().then((text) => new Response(`echo ${text.length}`));
    case "/slow":
      return sleep(query("ms", 1000)).then(() => new Response("slow done"));
    case "/throw":
      throw new Error(`${SECRET} thrown synchronously`);
    case "/throw-string":
      throw `${SECRET} thrown as a string`;
    case "/reject":
      return Promise.reject(new Error(`${SECRET} rejected`));
    case "/async-throw":
      return sleep(10).then(() => {
        throw new RangeError(`${SECRET} thrown after a tick`);
      });
    case "/not-response":
      return (NOT_RESPONSES[url.searchParams.get("kind") ?? ""] ?? (() => undefined))();
    case "/never":
      return new Promise<Response>(() => {});
    case "/stream-forever":
      return new Response(endless(route, "tick\n", 20));
    case "/stream-error": {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode("part 0\n"));
          await sleep(100);
          controller.enqueue(encoder.encode("part 1\n"));
          await sleep(100);
          controller.error(new Error(`${SECRET} stream failed`));
        },
      });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    }
    case "/stream-pull-throws": {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent) throw new TypeError(`${SECRET} pull threw`);
          sent = true;
          controller.enqueue(encoder.encode("first\n"));
          await sleep(100);
        },
      });
      return new Response(body);
    }
    case "/sync":
      return new Response("sync");
    case "/busy": {
      // Keeps the event loop from reading anything for `ms`: what a client does meanwhile
      // (send, then reset) is all in the kernel when the server reads again.
      const until = performance.now() + query("ms", 500);
      while (performance.now() < until) { /* busy */ }
      return new Response("busy");
    }
    case "/outgoing-close": {
      // Node: what a 'close' listener of the handler's own on `ctx.outgoing` sees.
      const outgoing = (ctx as { outgoing?: { once(e: string, f: () => void): void } }).outgoing;
      outgoing?.once("close", () => emit({ event: "outgoing-close", aborted: ctx.signal.aborted }));
      return sleep(query("ms", 2000)).then(() => new Response("late"));
    }
    case "/big":
      return new Response(big(route, query("mb", 16)));
    case "/big-static":
      return new Response(new Uint8Array(query("mb", 16) * 1024 * 1024).fill(121));
    case "/upload":
      return request.arrayBuffer().then(
        (body) => new Response(`got ${body.byteLength}`),
        (error) => {
          emit({ event: "upload-failed", error: String(error) });
          throw error;
        },
      );
    default:
      return new Response("not found", { status: 404 });
  }
}

if (selfSignal) {
  // Sent before serve(), so the runtime has it pending while the adapter still loads; a no-op
  // listener keeps the default action (termination) away until lameduck's own is installed.
  process.on(selfSignal, () => {});
  process.kill(process.pid, selfSignal as NodeJS.Signals);
  const until = performance.now() + 50;
  while (performance.now() < until) {
    // Busy wait: the signal arrives in the meantime.
  }
}

const list: Server[] = [];
for (let index = 0; index < count; index++) {
  const server = serve({
    port: 0,
    hostname: "127.0.0.1",
    ...options,
    fetch: handler as ServeOptions["fetch"],
    logger: (e: LifecycleEvent) => {
      const { type, ...rest } = e;
      emit({ event: "log", server: index, type, ...rest });
    },
  } as ServeOptions);
  list.push(server);
  for (const spec of hooks.filter((h) => (h.server ?? 0) === index)) {
    server.onShutdown(() => {
      emit({ event: "hook-run", server: index, name: spec.name });
      if (spec.kind === "throw") throw new Error(`hook ${spec.name} failed on purpose`);
    }, { name: spec.name });
  }
  server.finished.then((report) => emit({ event: "finished", server: index, report }));
}
for (const name of traceSignals) process.on(name, () => emit({ event: "signal", name }));
if (probe) {
  process.on("SIGUSR2", () =>
    emit({
      event: "inflight",
      inFlight: list.map((s) => s.inFlight),
      state: list.map((s) => s.state),
    }));
}

try {
  const addresses = await Promise.all(list.map((s) => s.ready));
  const ports = addresses.map((a) => a.port);
  emit({ event: "ready", port: ports[0], ports, runtime: list[0]?.runtime });
} catch (error) {
  emit({ event: "ready-rejected", error: String(error) });
}
if (stayAlive > 0) {
  await Promise.all(list.map((s) => s.finished));
  emit({ event: "all-finished" });
  setTimeout(() => emit({ event: "stay-alive-over" }), stayAlive);
}
