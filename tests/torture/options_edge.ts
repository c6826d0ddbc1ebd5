/**
 * Deterministic option cases that options_fuzz.ts keeps out of its generators because they fail
 * today (each one is a bug report), run in one child process per runtime by
 * options_fuzz_run.ts: a server that failed to close would otherwise keep the test alive.
 *
 * @module
 */

import net from "node:net";
import { serve } from "../../mod.ts";
import type { ServeOptions } from "../../mod.ts";
import { within } from "../shared/time.ts";
import { getStatus, hello } from "./options_fuzz.ts";

/** The groups of {@linkcode edgeCases}, each a list of broken expectations. */
export interface EdgeProblems {
  onListen: string[];
  websocket: string[];
  durations: string[];
}

const BASE = { port: 0, hostname: "127.0.0.1", signals: false, logger: false } as const;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs every case; resolves with the problems found, by group (empty lists when all hold). */
export async function edgeCases(): Promise<EdgeProblems> {
  return { onListen: await onListen(), websocket: await websocket(), durations: await durations() };
}

/** An onListen that throws is the caller's bug, not a listen error: the server is listening. */
async function onListen(): Promise<string[]> {
  const problems: string[] = [];
  let port = 0;
  const server = serve({
    ...BASE,
    fetch: hello,
    onListen: (address) => {
      port = address.port;
      throw new Error("onListen fails on purpose");
    },
  });
  const ready = await within(
    server.ready.then(() => "resolved", (e) => `rejected (${e})`),
    5_000,
    "ready",
  );
  if (ready !== "resolved") problems.push(`ready ${ready}, state ${server.state}`);
  await within(server.close(), 5_000, "close");
  if (port === 0) problems.push("onListen was never called");
  else if (await connects(port)) {
    problems.push(`port ${port} still accepts connections after close()`);
  }
  return problems;
}

/**
 * DESIGN.md: every invalid option throws at the call. `websocket` is checked on every runtime
 * (docs/api.md): anything but an object (Bun's handlers) or a function (Node's upgrade
 * listener) throws a TypeError naming it; an object or a function is served (each runtime
 * ignores the other's form). A rejected `ready` is never right.
 */
async function websocket(): Promise<string[]> {
  const problems: string[] = [];
  for (const value of [5, "x", null, () => {}, {}]) {
    let outcome: string;
    try {
      const s = serve({ ...BASE, fetch: hello, websocket: value } as ServeOptions);
      outcome = await within(
        s.ready.then(() => "served", (e) => `ready rejected (${e})`),
        5_000,
        "ready",
      );
      await within(s.close(), 5_000, "close");
    } catch (error) {
      const named = error instanceof TypeError && error.message.includes("websocket");
      outcome = named ? "threw" : `threw ${String(error)}`;
    }
    const shown = typeof value === "function" ? "a function" : JSON.stringify(value);
    const served = (value !== null && typeof value === "object") || typeof value === "function";
    const expected = served ? "served" : "threw";
    if (outcome !== expected) problems.push(`${shown}: ${outcome}, expected ${expected}`);
  }
  return problems;
}

/**
 * Beyond 2^31 - 1 ms `setTimeout` fires after 1 ms: longer durations are refused with a
 * RangeError naming the option, and the longest accepted one really waits.
 */
async function durations(): Promise<string[]> {
  const problems: string[] = [];
  const refused = (label: string, call: () => unknown) => {
    try {
      call();
      problems.push(`${label} 2^31 was accepted`);
    } catch (error) {
      if (!(error instanceof RangeError) || !error.message.includes(label)) {
        problems.push(`${label} 2^31: ${String(error)}`);
      }
    }
  };
  refused("drainTimeout", () => serve({ ...BASE, fetch: hello, drainTimeout: 2 ** 31 }));
  refused("lameDuck", () => serve({ ...BASE, fetch: hello, lameDuck: 2 ** 31 }));
  const long = 2 ** 31 - 1; // 24.8 days
  const slow = () => pause(600).then(() => new Response("ok"));
  const draining = serve({ ...BASE, fetch: slow, drainTimeout: long });
  const answer = getStatus((await draining.ready).port);
  await pause(100);
  const report = await within(draining.shutdown(), 5_000, "shutdown");
  if (!report.graceful || (await answer) !== "200") {
    problems.push(`drainTimeout ${long}: the drain was forced at once`);
  }
  const lame = serve({ ...BASE, fetch: hello, lameDuck: long });
  const port = (await lame.ready).port;
  void lame.shutdown();
  await pause(300);
  const during = await getStatus(port);
  if (during !== "200") problems.push(`lameDuck ${long}: the window closed at once (${during})`);
  await within(lame.close(), 5_000, "close");
  const hooked = serve({ ...BASE, fetch: hello });
  await hooked.ready;
  refused("timeout", () => hooked.onShutdown(() => {}, { timeout: 2 ** 31 }));
  hooked.onShutdown(() => pause(200), { timeout: long });
  const hooks = (await within(hooked.shutdown(), 5_000, "shutdown")).hooks;
  if (!hooks[0]?.ok) problems.push(`hook timeout ${long}: ${hooks[0]?.error}`);
  return problems;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
