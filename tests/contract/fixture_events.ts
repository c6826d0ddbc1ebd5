/**
 * Helpers shared by the contract suite's case files.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ShutdownReport } from "../../mod.ts";
import type { FixtureConfig, TortureConfig } from "../shared/fixture_config.ts";
import { within } from "../shared/time.ts";
import { type Exit, type Fixture, type FixtureEvent, start } from "./fixture_process.ts";
import type { RuntimeName } from "./runtimes.ts";

/** The shutdown report: from `finished`, or else from the logger's `closed` event. */
export function reportOf(fx: Fixture): ShutdownReport {
  const finished = fx.events.find((e) => e.event === "finished");
  if (finished) return finished.report as ShutdownReport;
  const closed = fx.events.find((e) => e.event === "log" && e.type === "closed");
  if (closed) return closed.report as ShutdownReport;
  assert.fail(
    `No shutdown report (neither a finished line nor a closed log event)\n${fx.describe()}`,
  );
}

export const is = (event: string, route?: string) => (e: FixtureEvent): boolean =>
  e.event === event && (route === undefined || e.route === route);

/** Runs `body` with a fixture and always kills it afterwards. */
export async function withFixture<C extends FixtureConfig | TortureConfig = FixtureConfig>(
  runtime: RuntimeName,
  config: C,
  body: (fx: Fixture) => Promise<void>,
  launch: (runtime: RuntimeName, config: C) => Promise<Fixture> = start,
): Promise<void> {
  const fx = await launch(runtime, config);
  try {
    await body(fx);
  } finally {
    fx.kill();
  }
}

/** Waits for the fixture to exit and its output to be read. */
export async function exitOf(fx: Fixture, ms = 15_000): Promise<Exit> {
  const exit = await within(fx.exited, ms, `the fixture to exit\n${fx.describe()}`);
  await within(fx.closed, 5_000, "stdout to close");
  return exit;
}

export const FIVE_CHUNKS = "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n";

/** Opens a WebSocket to `/ws` with the platform client and checks the echo route. */
export async function openEcho(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await within(
    new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("WebSocket failed to open"));
    }),
    5_000,
    "the WebSocket to open",
  );
  const echoed = new Promise<string>((resolve) => ws.onmessage = (e) => resolve(String(e.data)));
  ws.send("hi");
  assert.equal(await within(echoed, 5_000, "the echo"), "echo hi");
  return ws;
}
