import assert from "node:assert/strict";
import { test } from "node:test";
import { ended } from "../../src/supervisor/lines.ts";
import type { WorkerHandle } from "../../src/supervisor/worker.ts";

test("a worker's end line counts drained requests in the right number", () => {
  const worker = (completed: number) =>
    ({
      generation: 2,
      pid: 42,
      report: {
        reason: "SIGTERM",
        graceful: true,
        durationMs: 1,
        completed,
        aborted: 0,
        hooks: [],
      },
    }) as unknown as WorkerHandle;
  const exit = { code: 0, signal: null };
  assert.equal(
    ended(worker(1), exit),
    "worker 2 (pid 42) exited 0, drained 1 request (0 aborted, graceful)",
  );
  assert.equal(
    ended(worker(3), exit),
    "worker 2 (pid 42) exited 0, drained 3 requests (0 aborted, graceful)",
  );
});
