import { test } from "node:test";
import assert from "node:assert/strict";
import type { Platform } from "../../src/core/signals.ts";
import { SignalHub } from "../../src/core/signals.ts";

function fakePlatform() {
  const listeners = new Map<string, Set<() => void>>();
  const exits: number[] = [];
  const platform: Platform = {
    pid: 1,
    env: () => undefined,
    unsetEnv: () => {},
    onSignal(signal, listener) {
      if (!listeners.has(signal)) listeners.set(signal, new Set());
      listeners.get(signal)!.add(listener);
      return () => listeners.get(signal)!.delete(listener);
    },
    exit: (code) => exits.push(code),
  };
  const send = (signal: string) => [...(listeners.get(signal) ?? [])].forEach((l) => l());
  const count = () => [...listeners.values()].reduce((n, s) => n + s.size, 0);
  return { platform, send, count, exits };
}

test("SignalHub delivers a signal to every server and installs one listener per signal", () => {
  const { platform, send, count } = fakePlatform();
  const hub = new SignalHub(platform);
  const got: string[] = [];
  hub.add({ onSignal: (s) => got.push(`a:${s}`) }, ["SIGINT", "SIGTERM"]);
  hub.add({ onSignal: (s) => got.push(`b:${s}`) }, ["SIGTERM"]);
  assert.equal(count(), 2);
  send("SIGTERM");
  send("SIGINT");
  assert.deepEqual(got, ["a:SIGTERM", "b:SIGTERM", "a:SIGINT"]);
});

test("SignalHub removes its listeners once no server needs them", () => {
  const { platform, count } = fakePlatform();
  const hub = new SignalHub(platform);
  const removeA = hub.add({ onSignal() {} }, ["SIGTERM"]);
  const removeB = hub.add({ onSignal() {} }, ["SIGTERM", "SIGINT"]);
  removeB();
  assert.equal(count(), 1);
  removeA();
  assert.equal(count(), 0);
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

test("SignalHub exits once, with the worst code, after the last server closed", async () => {
  const { platform, exits } = fakePlatform();
  const hub = new SignalHub(platform);
  const removeA = hub.add({ onSignal() {} }, ["SIGTERM"]);
  const removeB = hub.add({ onSignal() {} }, ["SIGTERM"]);
  removeA(1);
  await tick();
  assert.deepEqual(exits, []);
  removeB(0);
  assert.deepEqual(exits, [], "exits after a macrotask, so code awaiting finished runs first");
  await tick();
  assert.deepEqual(exits, [1]);
});

test("SignalHub exits for one server once another, which wanted no exit, has closed too", async () => {
  const { platform, exits } = fakePlatform();
  const hub = new SignalHub(platform);
  const removeA = hub.add({ onSignal() {} }, ["SIGTERM"]);
  const removeB = hub.add({ onSignal() {} }, ["SIGTERM"]);
  removeA(0);
  await tick();
  assert.deepEqual(exits, []);
  removeB();
  await tick();
  assert.deepEqual(exits, [0]);
});

test("SignalHub does not exit when no server asked for it", async () => {
  const { platform, exits } = fakePlatform();
  const hub = new SignalHub(platform);
  const remove = hub.add({ onSignal() {} }, ["SIGTERM"]);
  remove();
  await tick();
  assert.deepEqual(exits, []);
});

// Mutation testing (npm run mutate): a hub used again after its servers closed.
test("SignalHub installs a listener again for a server added after the last one left", () => {
  const { platform, send, count } = fakePlatform();
  const hub = new SignalHub(platform);
  hub.add({ onSignal() {} }, ["SIGTERM"])();
  assert.equal(count(), 0);
  const got: string[] = [];
  hub.add({ onSignal: (s) => got.push(s) }, ["SIGTERM"]);
  assert.equal(count(), 1);
  send("SIGTERM");
  assert.deepEqual(got, ["SIGTERM"]);
});

test("SignalHub exits once per exit request: a later server that wants no exit does not exit again", async () => {
  const { platform, exits } = fakePlatform();
  const hub = new SignalHub(platform);
  hub.add({ onSignal() {} }, ["SIGTERM"])(1);
  await tick();
  assert.deepEqual(exits, [1]);
  hub.add({ onSignal() {} }, ["SIGTERM"])();
  await tick();
  assert.deepEqual(exits, [1]);
});
