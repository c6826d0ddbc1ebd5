/**
 * Drives the core with an async `fetch` the way the Node adapter does, 50 requests at a time,
 * then exits. `exchange_gc_test.ts` runs it under `--trace-gc-nvp`.
 *
 *     node tests/gc/gc_fixture.ts <requests> [core|baseline]
 *
 * `baseline` makes the same requests and responses and calls the same `fetch`, without the
 * core: the young-generation survival V8 shows for this workload on this machine right now.
 *
 * @module
 */
import process from "node:process";
import type { Adapter, Host } from "../../src/core/adapter.ts";
import { Context } from "../../src/core/context.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { LameduckServer } from "../../src/core/server.ts";
import type { SignalHub } from "../../src/core/signals.ts";

const total = Number(process.argv[2] ?? 100_000);
const baseline = process.argv[3] === "baseline";
let host: Host | undefined;
const adapter: Adapter = {
  runtime: "node",
  listen: (_options, h) => {
    host = h;
    return Promise.resolve({ hostname: "127.0.0.1", port: 1, url: "http://127.0.0.1:1/" });
  },
  close: () => Promise.resolve(),
  force: () => {},
  inFlight: (requests) => requests,
};
const hub = { add: () => () => {} } as unknown as SignalHub;
// deno-lint-ignore require-await
const handler = async () => new Response("Hello, World!"); // Async, as most handlers are.
const options = resolveOptions({
  fetch: handler,
  signals: false,
  logger: false,
  onListen: () => {},
});
const server = new LameduckServer(options, {
  runtime: "node",
  adapter: Promise.resolve(adapter),
  hub,
});
await server.ready;

/** A context as the Node adapter makes one. */
class FixtureContext extends Context {
  readonly remoteAddr = { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 };
}

let started = 0;
async function client(): Promise<void> {
  while (started < total) {
    started++;
    if (baseline) {
      const response = await handler();
      new Request("http://127.0.0.1/"); // the same garbage as the core's path
      await response.arrayBuffer();
      await new Promise((resolve) => setImmediate(resolve));
      continue;
    }
    const exchange = host!.open(new Request("http://127.0.0.1/"), new FixtureContext(host!.signal));
    if (exchange instanceof Response) throw new Error("The core answered by itself");
    const response = await exchange.respond();
    await response.arrayBuffer();
    exchange.end();
    await new Promise((resolve) => setImmediate(resolve)); // The next request, as from a socket.
  }
}
await Promise.all(Array.from({ length: 50 }, client));
process.exit(0);
