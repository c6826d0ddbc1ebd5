/**
 * Torture: handlers that misbehave (throw, reject, return something that is not a `Response`,
 * never resolve, stream forever, stream and then fail), on real Deno, Bun and Node processes.
 * Nothing the handler throws may reach a client, `inFlight` must come back to 0, and a shutdown
 * must end by its deadline.
 *
 * @module
 */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import { killLeftovers } from "../contract/fixture_process.ts";
import { sleep, within } from "../shared/time.ts";
import {
  exchange,
  exitOf,
  get,
  inFlightOf,
  leaks,
  settleInFlight,
  withFixture,
} from "./helpers.ts";

const FAILING = [
  "/throw",
  "/throw-string",
  "/reject",
  "/async-throw",
  "/not-response?kind=object",
  "/not-response?kind=string",
  "/not-response?kind=undefined",
  "/not-response?kind=null",
  "/not-response?kind=number",
  "/not-response?kind=promise-object",
  "/not-response?kind=promise-undefined",
  "/not-response?kind=thenable",
];

/** Generous slack over a deadline on this shared 2-core machine. */
const SLACK_MS = 2_000;

forEachRuntime("torture: misbehaving handlers", (runtime) => {
  describe(`torture: misbehaving handlers on ${runtime}`, () => {
    after(killLeftovers);

    test("handlers that throw, reject or return a non-Response get a plain 500 without the error; each is logged; SIGTERM then exits 0", async () => {
      await withFixture(runtime, { probe: true }, async (fx) => {
        const problems: string[] = [];
        for (const path of FAILING) {
          const r = await exchange(fx.port, get(path));
          if (r.status !== 500) problems.push(`${path}: status ${r.status} (${r.end})`);
          for (const leak of leaks(r.text)) problems.push(`${path}: leaked ${leak}`);
        }
        assert.deepEqual(problems, [], `\n${problems.join("\n")}\n${fx.describe()}`);
        const logged = fx.events.filter((e) => e.event === "log" && e.type === "error").length;
        assert.equal(logged, FAILING.length, "one error event per failed handler");
        const fast = await exchange(fx.port, get("/fast"));
        assert.equal(fast.status, 200, "the server goes on serving");
        assert.deepEqual(await settleInFlight(fx, 3_000), [0], "inFlight after the failures");
        const sent = fx.signal("SIGTERM");
        const exit = await exitOf(fx, 10_000);
        assert.equal(exit.code, 0, fx.describe());
        assert.ok(exit.atMs - sent < 3_000, `exit took ${(exit.atMs - sent).toFixed(0)} ms`);
      });
    });

    test("a body stream that fails midway is cut: the client gets a truncated chunked body without the error; inFlight returns to 0", async () => {
      await withFixture(runtime, { probe: true }, async (fx) => {
        for (
          const [path, first] of [["/stream-error", "part 0"], ["/stream-pull-throws", "first"]]
        ) {
          const r = await exchange(fx.port, get(path!), { ms: 5_000 });
          const what = `${path}: ${JSON.stringify(r.text.slice(-200))} (${r.end})`;
          assert.equal(r.status, 200, what);
          assert.ok(r.text.includes(first!), `the first chunk did not arrive: ${what}`);
          assert.notEqual(r.end, "timeout", `the connection stayed open: ${what}`);
          assert.ok(
            !r.text.endsWith("\r\n0\r\n\r\n"),
            `the body ended with the last-chunk marker, so the client cannot tell it failed: ${what}`,
          );
          assert.deepEqual(leaks(r.text), [], what);
        }
        assert.deepEqual(await settleInFlight(fx, 3_000), [0], "inFlight after the failed streams");
        fx.signal("SIGTERM");
        assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
      });
    });

    test("handlers that never resolve and streams that never end (even a client that left) count as in flight, and are forced at drainTimeout: exit 1 by the deadline", async () => {
      const drainTimeout = 1_500;
      await withFixture(runtime, { probe: true, drainTimeout }, async (fx) => {
        const paths = ["/never", "/never?watch=1", "/stream-forever", "/stream-forever?watch=1"];
        const held = paths.map((path) => exchange(fx.port, get(path), { ms: 15_000 }));
        // A client that leaves while its handler never resolves: the handler still runs.
        await exchange(fx.port, get("/never"), { ms: 300 });
        await within(
          (async () => {
            while (fx.events.filter((e) => e.event === "entered").length < 5) await sleep(20);
          })(),
          5_000,
          "every handler to be entered",
        );
        await sleep(200);
        const before = await inFlightOf(fx);
        const sent = fx.signal("SIGTERM");
        const exit = await exitOf(fx, drainTimeout + 10_000);
        const took = exit.atMs - sent;
        const received = await within(Promise.all(held), 10_000, "the clients to finish");
        const report = fx.events.find((e) => e.event === "finished")?.report as
          | { graceful: boolean; aborted: number }
          | undefined;
        console.log(
          `# ${runtime}: inFlight before SIGTERM ${before}, exit ${exit.code} after ${
            took.toFixed(0)
          } ms, report ${JSON.stringify(report)}, clients ${
            received.map((r) => `${r.status}/${r.end}`).join(" ")
          }`,
        );
        assert.equal(exit.code, 1, `a forced drain exits 1\n${fx.describe()}`);
        assert.ok(
          took < drainTimeout + SLACK_MS,
          `exit ${took.toFixed(0)} ms after SIGTERM; drainTimeout ${drainTimeout}`,
        );
        for (const r of received) assert.deepEqual(leaks(r.text), [], r.text.slice(0, 300));
        assert.equal(report?.graceful, false, fx.describe());
        assert.deepEqual(
          before,
          [5],
          "inFlight: 3 handlers that never resolve + 2 endless streams",
        );
        assert.equal(report?.aborted, 5, "the report counts every request cut at the deadline");
      });
    });

    test("a request that arrives while a forced drain is under way does not delay the exit", async () => {
      const drainTimeout = 1_000;
      await withFixture(runtime, { probe: true, drainTimeout, lameDuck: 500 }, async (fx) => {
        const held = exchange(fx.port, get("/never"), { ms: 10_000 });
        await fx.waitFor((e) => e.event === "entered", 5_000, "/never to be entered");
        const sent = fx.signal("SIGTERM");
        await sleep(200); // inside the lame-duck window: still accepting
        const late = await exchange(fx.port, get("/stream-forever"), { ms: 10_000 });
        const exit = await exitOf(fx, 10_000);
        const took = exit.atMs - sent;
        assert.equal(late.status, 200, `a request in the lame-duck window is served: ${late.end}`);
        assert.ok(
          took < 500 + drainTimeout + SLACK_MS,
          `exit ${took.toFixed(0)} ms after SIGTERM (lameDuck 500 + drainTimeout ${drainTimeout})`,
        );
        assert.equal(exit.code, 1, fx.describe());
        assert.deepEqual(leaks((await held).text + late.text), []);
      });
    });
  });
});
