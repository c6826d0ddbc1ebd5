/**
 * A signal that reaches `lameduck run` while its first worker starts: the supervisor has its
 * handlers already, stops the starting worker and exits 0 (before, the default action of the
 * signal could kill it in the moment between "ready" and its handlers, leaving the worker).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";

import { within } from "../shared/time.ts";
import { LOOPBACK, supervise } from "./spawn.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} while the first worker starts stops it, and the supervisor exits 0`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "lameduck-startup-"));
    const hang = join(dir, "hang");
    writeFileSync(hang, ""); // The worker never becomes ready.
    const sup = supervise(LOOPBACK, { env: { WORKER_HANG_FILE: hang } });
    try {
      await sup.until(/worker 1 started/, "worker 1 to start");
      sup.child.kill(signal);
      assert.deepEqual(await within(sup.ended, 15_000, `the supervisor to exit\n${sup.log()}`), {
        code: 0,
        signal: null,
      });
      assert.match(
        sup.log(),
        new RegExp(`${signal}: stopping worker 1 \\(pid \\d+\\) before it is ready, and exiting`),
      );
      assert.match(sup.log(), /stopped before it was ready/);
    } finally {
      sup.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
