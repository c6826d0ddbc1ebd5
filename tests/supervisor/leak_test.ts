/**
 * `lameduck run` keeps running for months: 100 restarts in a row must not leave descriptors
 * (pipes to old workers, sockets) or memory behind in the supervisor. Bun workers with
 * `lameDuck: 0` keep each restart short; the supervisor runs on Node, as the npm bin does.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { binaryOf } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";
import { LOOPBACK, supervise, WORKER } from "./spawn.ts";

const RESTARTS = 100;

/** Open descriptors and resident memory (KiB) of `pid`. */
function usage(pid: number): { fds: number; rssKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    fds: readdirSync(`/proc/${pid}/fd`).length,
    rssKiB: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]),
  };
}

test(`${RESTARTS} restarts in a row: the supervisor's descriptors and memory do not grow`, async (t) => {
  const sup = supervise(LOOPBACK, { env: { WORKER_LAME_DUCK: "0" } }, [binaryOf("bun"), WORKER]);
  const child = sup.child;
  try {
    await sup.until(/worker 1 \(pid \d+\) ready/, "worker 1 to be ready", 20_000);
    let settled: { fds: number; rssKiB: number } | undefined;
    for (let i = 1; i <= RESTARTS; i++) {
      child.kill("SIGHUP");
      await sup.until(/restart done/, `restart ${i} to finish`, 20_000, i);
      // After a few restarts every lazily created thing (timers, buffers, JIT code) exists.
      if (i === 10) settled = usage(child.pid!);
    }
    const last = usage(child.pid!);
    assert.ok(settled);
    t.diagnostic(
      `restart 10: ${settled.fds} fds, ${settled.rssKiB} KiB; ` +
        `restart ${RESTARTS}: ${last.fds} fds, ${last.rssKiB} KiB`,
    );
    assert.ok(
      last.fds <= settled.fds,
      `descriptors grew from ${settled.fds} (restart 10) to ${last.fds} (restart ${RESTARTS}): ` +
        readdirSync(`/proc/${child.pid}/fd`).length,
    );
    // A leak of even 50 KiB per restart would show as 4.5 MiB over these 90 restarts.
    assert.ok(
      last.rssKiB - settled.rssKiB < 4_096,
      `RSS grew from ${settled.rssKiB} KiB (restart 10) to ${last.rssKiB} KiB (restart ${RESTARTS})`,
    );
    assert.doesNotMatch(sup.log(), /unexpectedly/, sup.log().slice(-2_000));
    child.kill("SIGTERM");
    await within(sup.exited, 10_000, "the supervisor to exit");
  } finally {
    sup.kill();
  }
});
