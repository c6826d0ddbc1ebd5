/**
 * Why `lameduck run` loses nothing with a worker's default options: under the supervisor an
 * unset `lameDuck` means 1000 ms, so at a restart the old worker keeps its idle keep-alive
 * connections open for that window and answers their next request with `Connection: close`.
 * With `lameDuck: 0` it closes them at once, and a pooled client's next request races that
 * close (measured: a Deno `fd` worker lost 2-21 requests per 10 restarts, but a load test of
 * that race was too irregular to be a control). Shown here directly, on one idle connection,
 * for each runtime's worker in `fd` mode.
 *
 * @module
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { binaryOf } from "../contract/runtimes.ts";
import { RawConnection } from "../contract/client_raw_http.ts";
import { sleep, within } from "../shared/time.ts";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import { LOOPBACK, supervise, WORKER } from "./spawn.ts";

/** The old worker's idle connection after it was told to drain, with `env` for the worker. */
async function afterRestart(
  runtime: "deno" | "bun" | "node",
  env: Record<string, string>,
  probe: (conn: RawConnection, oldPid: string) => Promise<void>,
): Promise<void> {
  const worker = runtime === "deno"
    ? [binaryOf("deno"), "run", "-A", WORKER]
    : [binaryOf(runtime), WORKER];
  const sup = supervise([...LOOPBACK, "--handover", "fd"], { env }, worker);
  const until = (pattern: RegExp, what: string) => sup.until(pattern, what, 20_000);
  let conn: RawConnection | undefined;
  try {
    const port = Number((await until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    const oldPid = (await until(/worker 1 \(pid (\d+)\) ready/, "worker 1"))[1]!;
    conn = await RawConnection.connect(port);
    const first = await conn.request("GET", "/");
    assert.equal(first.body.trim(), oldPid, "worker 1 answers");
    sup.child.kill("SIGHUP");
    await until(
      /replaced by worker 2 \(pid \d+\): SIGTERM, it drains/,
      "worker 1 to be told to drain",
    );
    await probe(conn, oldPid);
  } finally {
    conn?.destroy();
    sup.kill();
  }
}

forEachRuntime("the supervised lameDuck default", (runtime) => {
  test(`${runtime} worker, default options: at a restart the old worker keeps an idle keep-alive connection for its lame-duck window and answers it with Connection: close`, async () => {
    await afterRestart(runtime, {}, async (conn, oldPid) => {
      // Well inside the 1000 ms window, and late enough that the worker is surely draining.
      await sleep(300);
      const next = await conn.request("GET", "/");
      assert.equal(next.status, 200);
      assert.equal(next.body.trim(), oldPid, "the old worker answered on its connection");
      assert.equal(next.headers.connection?.toLowerCase(), "close", JSON.stringify(next.headers));
    });
  });

  test(`${runtime} worker, lameDuck: 0 (the negative control): the old worker closes the idle connection at once, so a client's next request would race the close`, async () => {
    await afterRestart(runtime, { WORKER_LAME_DUCK: "0" }, async (conn) => {
      const kind = await within(conn.ended, 5_000, "the server to close the idle connection");
      assert.ok(["fin", "rst"].includes(kind), `closed by the server (${kind})`);
    });
  });
});
