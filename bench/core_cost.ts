/**
 * P5: the per-request cost of lameduck's core (`Host.open` → `Exchange.respond` →
 * `Exchange.end`, with the request context), without sockets, on the runtime that
 * runs this file. A calibrated loop timed with `performance.now()` (no bench library): the
 * iteration count is doubled until one batch takes `targetMs`, then batches of every variant
 * alternate `samples` times; the core's cost is each variant minus the baseline of the same
 * sample (a handler called and awaited directly, as a bare adapter would).
 *
 *     deno run -A bench/core_cost.ts | bun bench/core_cost.ts | node bench/core_cost.ts   [--quick]
 *
 * Prints one JSON object on stdout.
 *
 * @module
 */

import process from "node:process";
import type { Adapter, Host } from "../src/core/adapter.ts";
import { Context } from "../src/core/context.ts";
import { resolveOptions } from "../src/core/options.ts";
import { LameduckServer } from "../src/core/server.ts";
import { type Platform, SignalHub } from "../src/core/signals.ts";
import type { RemoteAddress, RequestContext, Runtime } from "../src/core/types.ts";

const quick = process.argv.includes("--quick");
const targetMs = quick ? 20 : 50;
const samples = quick ? 5 : 25;
const runtime: Runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

const request = new Request("http://127.0.0.1:8000/");
const response = new Response("hello world\n");
const remoteAddr: RemoteAddress = { transport: "tcp", hostname: "127.0.0.1", port: 40000 };
const handler = (_request: Request, _ctx: RequestContext): Response => response;
const signalReader = (_request: Request, ctx: RequestContext): Response =>
  ctx.signal.aborted ? response.clone() : response;

const platform: Platform = {
  pid: 0,
  env: () => undefined,
  unsetEnv: () => {},
  onSignal: () => () => {},
  exit: () => {},
};
const hub = new SignalHub(platform);
const hosts = new Map<LameduckServer, Host>();

function server(options: Record<string, unknown>): LameduckServer {
  const resolved = resolveOptions({ logger: false, signals: false, ...options });
  let host: Host | undefined;
  const adapter: Adapter = {
    runtime,
    listen: (_options, h) => {
      host = h;
      return Promise.resolve({ hostname: "127.0.0.1", port: 1, url: "http://127.0.0.1:1/" });
    },
    close: () => Promise.resolve(),
    force: () => {},
    inFlight: (requests) => requests,
  };
  const s = new LameduckServer(resolved, { runtime, adapter: Promise.resolve(adapter), hub });
  void s.ready.then(() => hosts.set(s, host!));
  return s;
}

/** A context as the Deno and Bun adapters make one: the client's signal linked on first use. */
class BenchContext extends Context {
  readonly remoteAddr: RemoteAddress = remoteAddr;
  readonly #client: AbortSignal | undefined;

  constructor(shutdown: AbortSignal, client: AbortSignal | undefined) {
    super(shutdown);
    this.#client = client;
  }

  protected override watchClient(): void {
    this.#client?.addEventListener("abort", () => Context.clientGone(this), { once: true });
  }
}

const plain = server({ fetch: handler });
const configured = server({ fetch: handler, readiness: "/readyz", maxInFlight: 10_000 });
const withSignal = server({ fetch: signalReader });
await Promise.all([plain.ready, configured.ready, withSignal.ready]);

/** A benchmark variant: `prepare(n)` runs before the clock starts, `loop(n)` is timed. */
interface Variant {
  id: string;
  label: string;
  prepare?: (n: number) => void;
  loop: (n: number) => Promise<void>;
}

/** Client signals made before the clock starts, one per request (a runtime has them already). */
let clientSignals: AbortSignal[] = [];

/** `n` requests through `s`, as the Deno and Bun adapters drive the core. */
function through(id: string, label: string, s: LameduckServer, clientSignal: boolean): Variant {
  return {
    id,
    label,
    prepare: (n) => {
      clientSignals = clientSignal
        ? Array.from({ length: n }, () => new AbortController().signal)
        : [];
    },
    loop: async (n) => {
      const host = hosts.get(s)!;
      for (let i = 0; i < n; i++) {
        const ctx = new BenchContext(host.signal, clientSignal ? clientSignals[i] : undefined);
        const exchange = host.open(request, ctx);
        if (exchange instanceof Response) throw new Error("The core answered by itself");
        const r = await exchange.respond();
        exchange.end();
        if (r.status !== 200) throw new Error("Unexpected response");
      }
    },
  };
}

const ctx = { shutdown: new AbortController().signal, remoteAddr } as unknown as RequestContext;
const variants: Variant[] = [
  {
    id: "baseline",
    label: "handler called and awaited directly (no lameduck)",
    loop: async (n) => {
      for (let i = 0; i < n; i++) {
        const r = await handler(request, ctx);
        if (r.status !== 200) throw new Error("Unexpected response");
      }
    },
  },
  through("default", "lameduck core, default options", plain, false),
  through("configured", "lameduck core, readiness + maxInFlight set", configured, false),
  through(
    "signal",
    "lameduck core, handler reads ctx.signal (linked to the client signal)",
    withSignal,
    true,
  ),
];

async function timed(variant: Variant, n: number): Promise<number> {
  variant.prepare?.(n);
  const start = performance.now();
  await variant.loop(n);
  return performance.now() - start;
}

// Calibrate on the slowest variant (also the warm-up), then keep n fixed for all.
let n = 1_000;
for (const v of variants) await timed(v, n);
while ((await timed(variants[3]!, n)) < targetMs) n *= 2;
for (const v of variants) await timed(v, n);

const ns: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.id, []]));
for (let s = 0; s < samples; s++) {
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + s) % variants.length]!;
    ns[v.id]!.push(((await timed(v, n)) * 1e6) / n);
  }
}

await Promise.all([plain.shutdown(), configured.shutdown(), withSignal.shutdown()]);
console.log(JSON.stringify({
  runtime,
  iterations: n,
  samples,
  targetMs,
  labels: Object.fromEntries(variants.map((v) => [v.id, v.label])),
  nsPerRequest: ns,
}));
