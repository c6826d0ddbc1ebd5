/**
 * A worker whose supervisor is gone (`SIGKILL`, so it could not stop its workers): the worker
 * sees its notify channel close, drains and exits by itself, so the port is free again.
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import { commandFor, RUNTIMES } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";
import { gone, LOOPBACK, running, servedBy, supervise, WORKER } from "./spawn.ts";

for (const runtime of RUNTIMES) {
  const [bin, rest] = commandFor(runtime, WORKER);
  test(`SIGKILL of the supervisor: its ${runtime} worker drains and exits by itself, and the port can be bound again`, async () => {
    await orphaned([bin, ...rest]);
  });
}

async function orphaned(command: string[]): Promise<void> {
  const first = supervise(LOOPBACK, { env: { WORKER_REPORT: "1" } }, command);
  let second: ReturnType<typeof supervise> | undefined;
  let orphan: number | undefined;
  try {
    const port = Number((await first.until(/socket 127\.0\.0\.1:(\d+) /, "the socket"))[1]);
    orphan = Number((await first.until(/worker 1 \(pid (\d+)\) ready/, "worker 1"))[1]);
    assert.equal(await servedBy(port), orphan);
    first.child.kill("SIGKILL");
    // Its drain: the supervised lame-duck second, then nothing in flight.
    await gone(orphan, 10_000, `the orphaned worker to exit\n${first.log()}`);
    await first.until(
      new RegExp(
        `worker ${orphan}: closed by lameduck run is gone \\(its notify channel closed\\) ` +
          `\\(graceful true\\)`,
      ),
      "the worker's report (written before it exited)",
    );
    second = supervise(["--port", String(port), "--host", "127.0.0.1"], {}, command);
    const next = Number((await second.until(/worker 1 \(pid (\d+)\) ready/, "the new run"))[1]);
    assert.equal(await servedBy(port), next);
    second.child.kill("SIGTERM");
    assert.equal(await within(second.exited, 10_000, "the new run to exit"), 0, second.log());
  } finally {
    first.kill();
    second?.kill();
    if (orphan !== undefined && running(orphan)) process.kill(orphan, "SIGKILL");
  }
}
