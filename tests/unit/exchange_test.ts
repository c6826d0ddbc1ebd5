import { test } from "node:test";
import assert from "node:assert/strict";
import type { Adapter } from "../../src/core/adapter.ts";
import { Exchange, type Tracker } from "../../src/core/exchange.ts";
import { resolveOptions } from "../../src/core/options.ts";
import { LameduckServer } from "../../src/core/server.ts";
import type { SignalHub } from "../../src/core/signals.ts";

/** A tracker whose `respond` returns what `answer` gives, and that records releases. */
function tracker(answer: () => Response | Promise<Response>) {
  const released: string[] = [];
  const t: Tracker = {
    release: (_exchange, outcome) => released.push(outcome),
    respond: () => answer(),
    shutdownSignal: new AbortController().signal,
  };
  return { tracker: t, released };
}

const init = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };

test("Exchange.respond() hands back a Response returned synchronously, without a promise", () => {
  const response = new Response("sync");
  const { tracker: t } = tracker(() => response);
  const exchange = new Exchange(t, new Request("http://a.test/"), init);
  assert.equal(exchange.respond(), response);
});

test("Exchange.respond() resolves a handler's promise, and run() is always a promise", async () => {
  const response = new Response("async");
  const { tracker: t } = tracker(() => Promise.resolve(response));
  const exchange = new Exchange(t, new Request("http://a.test/"), init);
  const answered = exchange.respond();
  assert.ok(answered instanceof Promise);
  assert.equal(await answered, response);
  const sync = new Response("sync");
  const other = new Exchange(tracker(() => sync).tracker, new Request("http://a.test/"), init);
  const run = other.run();
  assert.ok(run instanceof Promise);
  assert.equal(await run, sync);
});

test("a client that leaves after a synchronous response no longer aborts ctx.signal when the runtime aborts after every response", () => {
  const client = new AbortController();
  const { tracker: t } = tracker(() => new Response("done"));
  const exchange = new Exchange(t, new Request("http://a.test/"), {
    ...init,
    clientSignal: () => client.signal,
    clientSignalAfterResponse: false,
  });
  const signal = exchange.ctx.signal;
  exchange.respond();
  client.abort(); // As Deno does after every successful response.
  assert.equal(signal.aborted, false);
});

test("Exchange.end() releases once, with the first outcome", () => {
  const { tracker: t, released } = tracker(() => new Response("x"));
  const exchange = new Exchange(t, new Request("http://a.test/"), init);
  exchange.end();
  exchange.end("aborted");
  assert.deepEqual(released, ["completed"]);
});

test("a forced shutdown answers a fetch still pending with 503 in its place", async () => {
  const adapter: Adapter = {
    runtime: "node",
    listen: () => Promise.resolve({ hostname: "127.0.0.1", port: 1, url: "http://127.0.0.1:1/" }),
    close: () => Promise.resolve(),
    force: () => {},
  };
  const hub = { add: () => () => {} } as unknown as SignalHub;
  const options = resolveOptions({
    fetch: () => new Promise<Response>(() => {}), // Never answers.
    signals: false,
    logger: false,
    onListen: () => {},
  });
  const server = new LameduckServer(options, "node", Promise.resolve(adapter), hub);
  await server.ready;
  const exchange = server.open(new Request("http://a.test/"), init);
  assert.ok(exchange instanceof Exchange);
  const answered = exchange.respond();
  const report = await server.close();
  const response = await answered;
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("connection"), "close");
  assert.equal(report.aborted, 1);
});
