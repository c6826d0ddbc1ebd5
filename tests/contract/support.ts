/**
 * Helpers shared by the contract suite's case files.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Exit,
  type Fixture,
  type FixtureEvent,
  type RuntimeName,
  start,
  within,
} from "./harness.ts";

export interface Report {
  reason: string;
  graceful: boolean;
  durationMs: number;
  completed: number;
  aborted: number;
  hooks: { name: string; ok: boolean; durationMs: number; error?: string }[];
}

/** The shutdown report: from `finished`, or else from the logger's `closed` event. */
export function reportOf(fx: Fixture): Report {
  const finished = fx.events.find((e) => e.event === "finished");
  if (finished) return finished.report as Report;
  const closed = fx.events.find((e) => e.event === "log" && e.type === "closed");
  if (closed) return closed.report as Report;
  assert.fail(
    `No shutdown report (neither a finished line nor a closed log event)\n${fx.describe()}`,
  );
}

export const is = (event: string, route?: string) => (e: FixtureEvent): boolean =>
  e.event === event && (route === undefined || e.route === route);

/** Runs `body` with a fixture and always kills it afterwards. */
export async function withFixture(
  runtime: RuntimeName,
  config: Record<string, unknown>,
  body: (fx: Fixture) => Promise<void>,
  launch: (runtime: RuntimeName, config: Record<string, unknown>) => Promise<Fixture> = start,
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
