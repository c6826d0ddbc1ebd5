/**
 * Contract cases: In-process API checks run inside the runtime (the fixture's selftest mode).
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { PROMPT_MS, within } from "../shared/time.ts";
import { type Fixture, start } from "./fixture_process.ts";
import type { RuntimeName } from "./runtimes.ts";
import { INVALID_OPTIONS } from "./fixture/invalid_options.ts";

/** Registers these cases for `runtime` (inside its describe block). */
export function apiCases(runtime: RuntimeName): void {
  // 13, 14: in-process API checks run inside the runtime (fixture selftest mode)
  let selftest: Promise<Fixture> | undefined;
  const selftestRun = (): Promise<Fixture> =>
    selftest ??= (async () => {
      const fx = await start(runtime, { mode: "selftest" });
      await within(fx.closed, 60_000, `the selftest to finish\n${fx.describe()}`);
      return fx;
    })();
  // deno-lint-ignore no-explicit-any
  const checkLine = async (name: string): Promise<Record<string, any>> => {
    const fx = await selftestRun();
    const line = fx.events.find((e) => e.event === "check" && e.check === name);
    assert.ok(line, `no result line for check ${name}\n${fx.describe()}`);
    assert.equal(
      line.failure,
      undefined,
      `check ${name} failed inside the runtime: ${line.failure}\n${fx.describe()}`,
    );
    return line;
  };

  test("shutdown() called twice (and after closing) returns the same promise; finished has the same report", async () => {
    const c = await checkLine("shutdown-twice");
    assert.equal(c.sameSecond, true, "second shutdown() returned a different promise");
    assert.equal(
      c.sameAfterClosed,
      true,
      "shutdown() after closing returned a different promise",
    );
    assert.equal(c.state, "closed");
    assert.equal(c.report.graceful, true);
    assert.equal(c.report.reason, "shutdown()");
    assert.equal(c.finishedSameReport, true, "finished resolved with a different report object");
  });

  test("close() after shutdown() forces: in-flight handler aborted, report.graceful false, both promises settle", async () => {
    const c = await checkLine("close-after-shutdown");
    assert.equal(c.stateBeforeClose, "draining");
    assert.equal(
      c.settledBeforeClose,
      false,
      "shutdown() settled although a request was in flight",
    );
    assert.ok(c.closeMs < PROMPT_MS, `close() took ${c.closeMs} ms (drainTimeout 10 s)`);
    assert.equal(c.closeReport.graceful, false);
    assert.equal(c.closeReport.aborted, 1);
    assert.equal(
      c.shutdownReport.graceful,
      false,
      "the shutdown() promise reported a graceful drain",
    );
    assert.equal(c.ctxAborted, true, "ctx.signal of the in-flight handler did not abort");
    assert.equal(c.stateAfter, "closed");
  });

  test("await using shuts the server down gracefully at scope end", async () => {
    const c = await checkLine("await-using");
    assert.equal(c.stateInScope, "serving");
    assert.equal(c.stateAfterScope, "closed", "the scope ended before the server closed");
    assert.equal(c.handlerFinished, true, "the in-flight handler did not finish");
    assert.deepEqual(c.client, { status: 200, body: "scoped ok" });
    assert.equal(c.report.graceful, true);
    assert.equal(c.report.completed, 1);
  });

  test("server.ready rejects when the port is in use", async () => {
    const c = await checkLine("ready-rejects");
    assert.match(c.byNetServer, /^rejected: /, "port held by a net.Server");
    assert.match(c.byLameduck, /^rejected: /, "port held by another lameduck server");
  });

  test("every invalid option throws a TypeError or RangeError naming the option", async () => {
    const fx = await selftestRun();
    const problems: string[] = [];
    for (const row of INVALID_OPTIONS) {
      const line = fx.events.find((e) =>
        e.event === "check" && e.check === "invalid-option" && e.label === row.label
      );
      if (!line) problems.push(`${row.label}: no result line`);
      else if (!line.threw) problems.push(`${row.label}: did not throw`);
      else if (!line.isTypeOrRangeError) {
        problems.push(`${row.label}: threw ${line.errorName}: ${line.message}`);
      } else if (!(line.message as string).includes(row.option)) {
        problems.push(`${row.label}: message does not name ${row.option}: ${line.message}`);
      }
    }
    assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
  });

  test("invalid-option messages also name the invalid value", async () => {
    const fx = await selftestRun();
    const problems: string[] = [];
    for (const row of INVALID_OPTIONS) {
      const line = fx.events.find((e) =>
        e.event === "check" && e.check === "invalid-option" && e.label === row.label
      );
      if (!line || !line.threw) problems.push(`${row.label}: did not throw`);
      else if (!(line.message as string).includes(row.text)) {
        problems.push(`${row.label}: message does not show ${row.text}: ${line.message}`);
      }
    }
    assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
  });
}
