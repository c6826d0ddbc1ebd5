import { test } from "node:test";
import assert from "node:assert/strict";
import { Exchange, type Handler } from "../../src/core/exchange.ts";
import { Flights } from "../../src/core/flights.ts";
import { TestContext } from "./core_harness.ts";

function exchange(answer: () => unknown, options: { afterResponse?: boolean } = {}) {
  const flights = new Flights<Exchange>();
  const failures: unknown[] = [];
  const handler: Handler = {
    fetch: answer as Handler["fetch"],
    failed: (error, _request, stage) => {
      failures.push(stage === undefined ? error : { stage, error });
      return Promise.resolve(new Response("failed", { status: 500 }));
    },
    cut: (error) => {
      failures.push({ cut: error });
    },
    log: () => {},
  };
  const ctx = new TestContext(new AbortController().signal, options.afterResponse ?? true);
  const ex = new Exchange(flights, handler, new Request("http://a.test/"), ctx);
  flights.add(ex);
  return { exchange: ex, flights, failures, ctx };
}

test("Exchange.respond() hands back a Response returned synchronously, without a promise", () => {
  const response = new Response("sync");
  assert.equal(exchange(() => response).exchange.respond(), response);
});

test("Exchange.respond() resolves a handler's promise", async () => {
  const response = new Response("async");
  const answered = exchange(() => Promise.resolve(response)).exchange.respond();
  assert.ok(answered instanceof Promise);
  assert.equal(await answered, response);
});

test("Exchange.respond() answers a throwing, rejecting or non-Response fetch with failed()", async () => {
  for (
    const answer of [
      () => {
        throw new Error("boom");
      },
      () => Promise.reject(new Error("boom")),
      () => "text",
      () => Promise.resolve(42),
    ]
  ) {
    const { exchange: ex, failures } = exchange(answer);
    const response = await ex.respond();
    assert.equal(response.status, 500);
    assert.equal(failures.length, 1);
  }
  const { exchange: ex, failures } = exchange(() => null);
  await ex.respond();
  assert.match(String(failures[0]), /fetch returned null instead of a Response/);
});

test("a client that leaves after a synchronous response no longer aborts ctx.signal when the runtime aborts after every response", () => {
  const { exchange: ex, ctx } = exchange(() => new Response("done"), { afterResponse: false });
  const signal = ctx.signal;
  ex.respond();
  ctx.client.abort(); // As Deno does after every successful response.
  assert.equal(signal.aborted, false);
});

test("a client that leaves while the handler runs aborts ctx.signal", () => {
  const { exchange: ex, ctx } = exchange(() => new Promise(() => {}), { afterResponse: false });
  const signal = ctx.signal;
  ex.respond();
  ctx.client.abort();
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "AbortError");
  assert.equal((signal.reason as DOMException).message, "The client disconnected");
});

test("ctx.signal is made on first use only, and is already aborted when read after a cut", () => {
  const { exchange: ex, ctx } = exchange(() => new Response("x"));
  assert.equal(ex.signalUsed, false);
  ex.clientGone();
  assert.equal(ex.signalUsed, false);
  assert.equal(ctx.signal.aborted, true);
  assert.equal(ex.signalUsed, true);
});

test("Exchange.end() counts once, with the first outcome", () => {
  const { exchange: ex, flights } = exchange(() => new Response("x"));
  flights.startDrain(1);
  ex.end();
  ex.end("aborted");
  assert.deepEqual(flights.counts, { atStart: 1, started: 0, completed: 1, aborted: 0 });
  assert.equal(flights.size, 0);
});

test("Exchange.force() answers a fetch still pending with 503 and says so", async () => {
  const { exchange: ex, ctx } = exchange(() => new Promise(() => {}));
  const answered = ex.respond();
  const signal = ctx.signal;
  assert.equal(ex.force(new DOMException("forced", "AbortError")), true);
  const response = await answered;
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("connection"), "close");
  assert.equal(signal.aborted, true);
  assert.equal(ex.force("again"), false);
});

test("Exchange.force() after the handler responded cuts the body through onForce and answers nothing", async () => {
  const { exchange: ex } = exchange(() => Promise.resolve(new Response("x")));
  await ex.respond();
  const cuts: unknown[] = [];
  ex.onForce = (reason) => cuts.push(reason);
  assert.equal(ex.force("deadline"), false);
  assert.deepEqual(cuts, ["deadline"]);
});

test("a response from a promise, or from failed(), also stops a later client abort from aborting ctx.signal", async () => {
  for (
    const answer of [
      () => Promise.resolve(new Response("async")),
      () => Promise.reject(new Error("boom")),
      () => {
        throw new Error("boom");
      },
    ]
  ) {
    const { exchange: ex, ctx } = exchange(answer, { afterResponse: false });
    const signal = ctx.signal;
    await ex.respond();
    ctx.client.abort(); // As Deno does after every successful response.
    assert.equal(signal.aborted, false);
  }
});

test("Exchange.force() after a rejected fetch was handed to failed() answers nothing", async () => {
  const { exchange: ex } = exchange(() => Promise.reject(new Error("boom")));
  const response = await ex.respond();
  assert.equal(response.status, 500);
  assert.equal(ex.force("deadline"), false);
});

test("Exchange.force() cuts once: not again, and not after the exchange ended", async () => {
  const { exchange: ex } = exchange(() => Promise.resolve(new Response("x")));
  await ex.respond();
  const cuts: unknown[] = [];
  ex.onForce = (reason) => cuts.push(reason);
  ex.force("first");
  ex.force("second");
  assert.deepEqual([...cuts], ["first"]);
  const { exchange: ended } = exchange(() => Promise.resolve(new Response("x")));
  await ended.respond();
  ended.onForce = (reason) => cuts.push(reason);
  ended.end();
  assert.equal(ended.force("late"), false);
  assert.deepEqual(cuts, ["first"]);
});

test("Exchange.unsendable() answers through failed() with stage send; cut() reports to cut()", async () => {
  const { exchange: ex, failures } = exchange(() => new Response("x"));
  const error = new TypeError("bad field");
  const answer = await ex.unsendable(error);
  assert.equal(answer.status, 500);
  ex.cut(error);
  assert.deepEqual(failures, [{ stage: "send", error }, { cut: error }]);
});
