/**
 * Contract cases: the probes (liveness, readiness with checks, metrics) in each state, and
 * `logger: "json"`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { sleep } from "../shared/time.ts";
import { RawConnection, rawRequest, tryConnect } from "./client_raw_http.ts";
import { is } from "./fixture_events.ts";
import { exitOf, withFixture } from "./fixture_process.ts";
import { binaryOf, ROOT, type RuntimeName } from "./runtimes.ts";

/** The Prometheus text format, parsed: sample (name with labels) -> value; checks each line. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\w+) (gauge|counter)$/.exec(line);
    if (type) typed.add(type[1]!);
    if (line.startsWith("#")) {
      assert.match(line, /^# (HELP|TYPE) \w+ .+$/);
      continue;
    }
    const sample = /^(\w+)(\{\w+="[^"]*"\})? (-?[\d.]+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
    assert.ok(typed.has(sample[1]!.replace(/_total$/, "_total")), `no TYPE for ${sample[1]}`);
    samples.set(sample[1]! + (sample[2] ?? ""), Number(sample[3]));
  }
  return samples;
}

async function get(port: number, path: string, method = "GET") {
  const { conn, res } = await rawRequest(port, method, path);
  conn.destroy();
  return res;
}

/** Registers these cases for `runtime` (inside its describe block). */
export function probeCases(runtime: RuntimeName): void {
  test("probes in each state: liveness 200 while serving and in the lame-duck window, readiness 503 from the signal on, metrics show the state and the drain; then the listener closes", async () => {
    const config = {
      readiness: "/readyz",
      liveness: "/livez",
      metrics: "/metrics",
      lameDuck: 1_500,
      trace: true,
    };
    await withFixture(runtime, config, async (fx) => {
      assert.equal((await get(fx.port, "/livez")).status, 200);
      assert.equal((await get(fx.port, "/livez", "HEAD")).status, 200);
      assert.equal((await get(fx.port, "/readyz")).status, 200);
      const serving = await get(fx.port, "/metrics");
      assert.equal(serving.status, 200);
      assert.equal(serving.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
      const before = parseMetrics(serving.body);
      assert.equal(before.get('lameduck_state{state="serving"}'), 1);
      assert.equal(before.get("lameduck_http_server_active_requests"), 0);

      const slow = await RawConnection.connect(fx.port);
      slow.send("GET", "/slow?ms=2500");
      await fx.waitFor(is("entered", "/slow"), 5_000, "/slow to be entered");
      fx.signal("SIGTERM");
      await fx.waitFor((e) => e.event === "server-signal", 5_000, "shutdown to start");
      // The lame-duck window: still accepting and serving.
      const live = await get(fx.port, "/livez");
      assert.equal(live.status, 200, "liveness while draining");
      assert.equal(live.body, "ok\n");
      assert.equal((await get(fx.port, "/readyz")).status, 503, "readiness while draining");
      const draining = parseMetrics((await get(fx.port, "/metrics")).body);
      assert.equal(draining.get('lameduck_state{state="draining"}'), 1);
      assert.equal(draining.get('lameduck_state{state="serving"}'), 0);
      assert.equal(draining.get("lameduck_http_server_active_requests"), 1, "the /slow request");
      assert.ok(draining.get("lameduck_drain_duration_seconds")! > 0);
      // After the window the listener is closed: every probe is refused, liveness too.
      await sleep(1_800);
      assert.equal(await tryConnect(fx.port), "ECONNREFUSED", "the listener is closed");
      assert.equal((await slow.read({ timeoutMs: 5_000 })).status, 200);
      assert.equal((await exitOf(fx, 5_000)).code, 0, fx.describe());
      const fetched = fx.events.filter((e) => e.event === "fetch").map((e) => e.path as string);
      assert.deepEqual(fetched, ["/slow?ms=2500"], "no probe reached fetch");
    });
  });

  test("readiness checks: 503 naming the failing check, 200 once it passes; concurrent probes share one run of a slow check; a probe waiting on it answers 503 at SIGTERM", async () => {
    await withFixture(runtime, { readinessChecks: { timeout: 3_000 } }, async (fx) => {
      const ok = await get(fx.port, "/readyz");
      assert.equal(ok.status, 200, ok.body);
      assert.deepEqual(JSON.parse(ok.body), {
        status: "ok",
        checks: { db: { ok: true }, slow: { ok: true } },
      });
      await get(fx.port, "/check?db=connection%20refused");
      const failing = await get(fx.port, "/readyz");
      assert.equal(failing.status, 503);
      assert.equal(failing.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(failing.body).checks.db, {
        ok: false,
        error: "connection refused",
      });
      await get(fx.port, "/check?db=ok&slowMs=600");
      const runsBefore = JSON.parse((await get(fx.port, "/check")).body).runs;
      const probes = await Promise.all([1, 2, 3].map(() => get(fx.port, "/readyz")));
      assert.deepEqual(probes.map((p) => p.status), [200, 200, 200]);
      const runs = JSON.parse((await get(fx.port, "/check")).body).runs - runsBefore;
      assert.equal(runs, 1, "three concurrent probes, one run of the slow check");

      await get(fx.port, "/check?slowMs=60000");
      const waiting = rawRequest(fx.port, "GET", "/readyz", { timeoutMs: 5_000 });
      await sleep(200);
      const sigAt = fx.signal("SIGTERM");
      const { conn, res } = await waiting;
      conn.destroy();
      assert.equal(res.status, 503);
      assert.equal(JSON.parse(res.body).status, "draining");
      assert.ok(res.doneAt - sigAt < 1_000, `answered ${res.doneAt - sigAt} ms after SIGTERM`);
      const exit = await exitOf(fx, 5_000);
      assert.equal(exit.code, 0, fx.describe());
      assert.ok(exit.atMs - sigAt < 2_000, "the hung check did not hold the drain");
    });
  });

  test('logger "json": every stderr line is one JSON object with pino\'s level, time and msg; a handler error as err with its message and stack, its request as req', async () => {
    await withFixture(runtime, { jsonLogger: true, lameDuck: 200 }, async (fx) => {
      assert.equal((await get(fx.port, "/throw-through?token=x")).status, 500);
      fx.signal("SIGTERM");
      assert.equal((await exitOf(fx, 5_000)).code, 0, fx.describe());
      const lines = fx.stderr().split("\n").filter((line) => line.startsWith("{"));
      const records = lines.map((line) => JSON.parse(line));
      const types = records.map((r) => r.type);
      assert.deepEqual(types, ["listening", "error", "draining", "closed"], fx.stderr());
      for (const r of records) {
        assert.equal(typeof r.msg, "string");
        assert.ok(Math.abs(r.time - Date.now()) < 60_000, `time ${r.time} is epoch ms`);
      }
      const error = records[1];
      assert.equal(error.level, 50);
      assert.deepEqual(error.req, { method: "GET", path: "/throw-through" });
      assert.equal(error.err.name, "Error");
      assert.match(error.err.message, /boom thrown through/);
      assert.match(error.err.stack, /Error: /);
      assert.equal(records[2].level, 30);
      assert.equal(records[2].lameDuckMs, 200);
      assert.match(records[2].msg, /lame-duck window of 0\.2 s starts/);
      assert.match(records[2].msg, /a second SIGINT or SIGTERM forces the shutdown/);
      assert.equal(records[3].exitCode, 0);
      assert.match(records[3].msg, /exiting with code 0$/);
      // pino-pretty (pinned) reads them as pino's own lines: level names, messages, err and req.
      const pretty = spawnSync(
        binaryOf("node"),
        [join(ROOT, "node_modules", "pino-pretty", "bin.js")],
        {
          input: lines.join("\n") + "\n",
          encoding: "utf8",
          env: { ...process.env, NO_COLOR: "1" },
        },
      );
      assert.equal(pretty.status, 0, pretty.stderr);
      assert.match(pretty.stdout, /\] INFO: listening on http:\/\/127\.0\.0\.1:\d+\//);
      assert.match(pretty.stdout, /\] ERROR: GET \/throw-through.*boom thrown through/);
      assert.match(pretty.stdout, /"path": "\/throw-through"/);
      assert.match(pretty.stdout, /\] INFO: closed after \d+ ms \(graceful\)/);
    });
  });
}
