/**
 * Reading what a running fixture reported (its JSON event lines, fixture_process.ts): event
 * predicates for `waitFor`, and the shutdown report it logged.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ShutdownReport } from "../../mod.ts";
import type { Fixture, FixtureEvent } from "./fixture_process.ts";

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
