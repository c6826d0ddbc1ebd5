import { test } from "node:test";
import assert from "node:assert/strict";
import { realClock } from "../../src/core/clock.ts";
import { Hooks } from "../../src/core/hooks.ts";
import { FakeClock } from "./core_harness.ts";

test("Hooks run last registered first and report each", async () => {
  const hooks = new Hooks();
  const order: string[] = [];
  hooks.add(() => order.push("first"), { name: "first" });
  hooks.add(async () => {
    await new Promise((r) => setTimeout(r, 5));
    order.push("second");
  });
  const seen: string[] = [];
  const reports = await hooks.run(realClock, (h) => seen.push(h.name));
  assert.deepEqual(order, ["second", "first"]);
  assert.deepEqual(seen, ["hook 2", "first"]);
  assert.ok(reports.every((r) => r.ok));
});

test("Hooks cut a hanging hook at its timeout and report a throwing one", async () => {
  const hooks = new Hooks();
  let ranAfter = false;
  hooks.add(() => ranAfter = true, { name: "after" });
  hooks.add(() => {
    throw new Error("pool already closed");
  }, { name: "throws" });
  hooks.add(() => new Promise(() => {}), { name: "hangs", timeout: 30 });
  const started = performance.now();
  const reports = await hooks.run(realClock, () => {});
  assert.ok(performance.now() - started < 2000);
  assert.deepEqual(reports.map((r) => [r.name, r.ok]), [
    ["hangs", false],
    ["throws", false],
    ["after", true],
  ]);
  assert.match(reports[0]!.error!, /Timed out after 30 ms/);
  assert.match(reports[1]!.error!, /pool already closed/);
  assert.equal(ranAfter, true);
});

test("Hooks.add() returns a Disposable that unregisters the hook", async () => {
  const hooks = new Hooks();
  let ran = false;
  const registration = hooks.add(() => ran = true);
  registration[Symbol.dispose]();
  assert.deepEqual(await hooks.run(realClock, () => {}), []);
  assert.equal(ran, false);
});

test("Hooks.add() rejects a non-function and a bad timeout", () => {
  const hooks = new Hooks();
  assert.throws(() => hooks.add(5 as unknown as () => void), TypeError);
  assert.throws(() => hooks.add(() => {}, { timeout: -1 }), /Invalid timeout/);
  assert.throws(() => hooks.add(() => {}, { timeout: 2 ** 31 }), RangeError);
});

// Mutation testing (npm run mutate): disposing twice, and the reported durations.
test("disposing a hook twice unregisters only that hook", async () => {
  const hooks = new Hooks();
  const ran: string[] = [];
  const a = hooks.add(() => void ran.push("a"), { name: "a" });
  hooks.add(() => void ran.push("b"), { name: "b" });
  a[Symbol.dispose]();
  a[Symbol.dispose]();
  await hooks.run(realClock, () => {});
  assert.deepEqual(ran, ["b"]);
});

test("a hook's durationMs is its own run time, whether it resolves or throws", async () => {
  const hooks = new Hooks();
  hooks.add(() => new Promise((resolve) => setTimeout(resolve, 20)), { name: "ok" });
  hooks.add(() => {
    throw new Error("no");
  }, { name: "throws" });
  const started = performance.now();
  const reports = await hooks.run(realClock, () => {});
  const elapsed = performance.now() - started;
  for (const r of reports) {
    assert.ok(r.durationMs >= 0 && r.durationMs <= elapsed + 1, `${r.name}: ${r.durationMs} ms`);
  }
  assert.ok(reports.find((r) => r.name === "ok")!.durationMs >= 15);
});

test("a hook that settles cancels its timeout timer", async () => {
  const hooks = new Hooks();
  const clock = new FakeClock();
  hooks.add(() => {}, { name: "quick", timeout: 5_000 });
  hooks.add(() => Promise.reject(new Error("x")), { name: "fails", timeout: 5_000 });
  const reports = await hooks.run(clock, () => {});
  assert.deepEqual(reports.map((r) => r.ok), [false, true]);
  assert.equal(clock.pending, 0, "no timer keeps the process alive for the hook's timeout");
});
