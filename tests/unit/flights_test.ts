/**
 * The core's small parts on their own: in-flight accounting (Flights), the one-way Latch, the
 * clock's sleep() and real timers, and the request Context. Written for the survivors of
 * `npm run mutate` (contributing/mutation.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { realClock, sleep } from "../../src/core/clock.ts";
import { Context } from "../../src/core/context.ts";
import { type Flight, Flights } from "../../src/core/flights.ts";
import { Latch } from "../../src/core/latch.ts";
import { FakeClock, settle, TestContext } from "./core_harness.ts";

class TestFlight implements Flight {
  slot = -1;
  forced: unknown[] = [];
  readonly answers: boolean;
  constructor(answers = false) {
    this.answers = answers;
  }
  force(reason: unknown): boolean {
    this.forced.push(reason);
    return this.answers;
  }
}

test("Flights: ending any request keeps the others in flight, whatever the order; empty() waits for the last", async () => {
  const flights = new Flights<TestFlight>();
  const [a, b, c, d] = [new TestFlight(), new TestFlight(), new TestFlight(), new TestFlight()];
  for (const f of [a, b, c, d]) flights.add(f);
  assert.deepEqual([a.slot, b.slot, c.slot, d.slot], [0, 1, 2, 3]);
  let empty = false;
  void flights.empty().then(() => empty = true);
  flights.end(a, "completed");
  assert.equal(flights.size, 3);
  assert.equal(a.slot, -1);
  assert.equal(d.slot, 0, "the last one takes the ended one's place");
  flights.end(a, "completed");
  assert.equal(flights.size, 3, "a second end() does not count");
  flights.end(c, "completed");
  flights.end(d, "completed");
  assert.equal(b.slot, 0);
  await settle();
  assert.equal(empty, false);
  flights.end(b, "completed");
  await settle();
  assert.equal(empty, true);
  assert.equal(flights.size, 0);
  assert.deepEqual(flights.counts, { atStart: 0, started: 0, completed: 0, aborted: 0 });
  // Nothing in flight: empty() resolves at once.
  let again = false;
  void flights.empty().then(() => again = true);
  await settle();
  assert.equal(again, true);
});

test("Flights: during the drain, requests started, completed and aborted are counted", () => {
  const flights = new Flights<TestFlight>();
  const before = new TestFlight();
  flights.add(before);
  flights.add(new TestFlight());
  flights.end(before, "completed");
  flights.startDrain(3);
  const during = new TestFlight();
  flights.add(during);
  const cut = new TestFlight();
  flights.add(cut);
  flights.end(during, "completed");
  flights.end(cut, "aborted");
  assert.deepEqual(flights.counts, { atStart: 3, started: 2, completed: 1, aborted: 1 });
});

test("Flights.force() cuts every request, counts extra ones, and waits for the forced answers to be handed over", async () => {
  const flights = new Flights<TestFlight>();
  const answered = [new TestFlight(true), new TestFlight(true)];
  const silent = new TestFlight(false);
  for (const f of [...answered, silent]) flights.add(f);
  flights.startDrain(5);
  let empty = false;
  void flights.empty().then(() => empty = true);
  let delivered = false;
  void flights.force("cut", 2).then(() => delivered = true);
  await settle();
  assert.equal(empty, true);
  assert.equal(flights.size, 0);
  assert.deepEqual(flights.counts, { atStart: 5, started: 0, completed: 0, aborted: 5 });
  assert.deepEqual([...answered, silent].map((f) => [f.slot, f.forced]), [
    [-1, ["cut"]],
    [-1, ["cut"]],
    [-1, ["cut"]],
  ]);
  flights.end(silent, "completed");
  flights.end(answered[0]!, "completed");
  await settle();
  assert.equal(delivered, false);
  flights.end(answered[0]!, "completed");
  await settle();
  assert.equal(delivered, false, "the same answer twice is not two");
  flights.end(answered[1]!, "completed");
  await settle();
  assert.equal(delivered, true);
  assert.deepEqual(flights.counts, { atStart: 5, started: 0, completed: 0, aborted: 5 });

  const none = new Flights<TestFlight>();
  none.add(new TestFlight(false));
  let done = false;
  void none.force("cut").then(() => done = true);
  await settle();
  assert.equal(done, true, "no forced answer: nothing to wait for");
});

test("Latch: the first value wins, and the promise resolves when set", async () => {
  const latch = new Latch<string>();
  assert.equal(latch.isSet, false);
  assert.equal(latch.value, undefined);
  let resolved = false;
  void latch.promise.then(() => resolved = true);
  await settle();
  assert.equal(resolved, false);
  latch.set("first");
  latch.set("second");
  assert.equal(latch.isSet, true);
  assert.equal(latch.value, "first");
  await settle();
  assert.equal(resolved, true);
});

test("sleep() ends after ms or as soon as cancel settles, and leaves no timer behind", async () => {
  const clock = new FakeClock();
  let slept = false;
  void sleep(clock, 100, new Promise(() => {})).then(() => slept = true);
  await clock.advance(99);
  assert.equal(slept, false);
  await clock.advance(1);
  assert.equal(slept, true);
  assert.equal(clock.pending, 0);
  let cancel!: () => void;
  let cut = false;
  void sleep(clock, 100, new Promise<void>((resolve) => cancel = resolve)).then(() => cut = true);
  await settle();
  assert.equal(clock.pending, 1);
  cancel();
  await settle();
  assert.equal(cut, true);
  assert.equal(clock.pending, 0, "the timer is cancelled");
});

test("realClock: now() is monotonic milliseconds, after() fires once and can be cancelled, every() repeats until cancelled", async () => {
  const t0 = realClock.now();
  const fired: string[] = [];
  realClock.after(5, () => fired.push("after"));
  const cancelled = realClock.after(5, () => fired.push("cancelled"));
  cancelled();
  const stop = realClock.every(5, () => {
    fired.push("every");
    if (fired.filter((f) => f === "every").length === 3) stop();
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(fired.filter((f) => f !== "every"), ["after"]);
  assert.equal(fired.filter((f) => f === "every").length, 3);
  const elapsed = realClock.now() - t0;
  assert.ok(elapsed >= 150 && elapsed < 60_000, `elapsed ${elapsed} ms`);
});

test("Context: the first abort reason wins, and a signal read later carries it", () => {
  const ctx = new TestContext(new AbortController().signal);
  Context.abort(ctx, "first");
  Context.abort(ctx, "second");
  Context.clientGone(ctx);
  assert.equal(ctx.signal.aborted, true);
  assert.equal(ctx.signal.reason, "first");
  const read = new TestContext(new AbortController().signal);
  const signal = read.signal;
  assert.equal(read.signal, signal, "one signal per request");
  Context.abort(read, "cut");
  Context.abort(read, "again");
  assert.equal(signal.reason, "cut");
});
