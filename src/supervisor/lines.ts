/**
 * The supervisor's log lines about its workers (`lameduck run: ...` is added by the caller).
 *
 * @module
 */

import process from "node:process";
import type { WorkerExit, WorkerHandle } from "./worker.ts";

/** `CLOCK_MONOTONIC` in microseconds, as `RELOADING=1` wants it (libuv's hrtime is that clock). */
export const monotonicUsec = (): string => String(process.hrtime.bigint() / 1000n);

/** The time since `start` (a `performance.now()`), for the log. */
export function since(start: number): string {
  return `${Math.round(performance.now() - start)} ms`;
}

/** "exited 1" or "killed by SIGKILL". */
export function how(exit: WorkerExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited ${exit.code}`;
}

/** Describes a worker's end for the log. */
export function ended(worker: WorkerHandle, exit: WorkerExit): string {
  const report = worker.report;
  const drained = report
    ? `, drained ${report.completed} request${report.completed === 1 ? "" : "s"} ` +
      `(${report.aborted} aborted, ${report.graceful ? "graceful" : "forced"})`
    : "";
  return `worker ${worker.generation} (pid ${worker.pid}) ${how(exit)}${drained}`;
}

/** "worker 3" or "workers 3, 4". */
export function named(workers: readonly WorkerHandle[]): string {
  if (workers.length === 0) return "no worker";
  const list = workers.map((w) => w.generation).join(", ");
  return workers.length === 1 ? `worker ${list}` : `workers ${list}`;
}

/** What the supervisor saw of a worker that did not report ready in time. */
export function notReady(worker: WorkerHandle, timeoutMs: number): string {
  const seen = worker.connected
    ? "it connected to the notify socket but never sent READY=1: did its server start listening?"
    : "it never connected to the notify socket: does it call serve()? A Deno worker also " +
      "needs -A or the flags in docs/runtimes.md, Deno permissions";
  return `(pid ${worker.pid}) not ready after ${timeoutMs} ms (${seen})`;
}

/** "worker 4 keeps serving" or "workers 4, 5 keep serving". */
export function keepServing(serving: readonly WorkerHandle[]): string {
  return `${named(serving)} keep${serving.length === 1 ? "s" : ""} serving`;
}

/** The first stop signal's line: what drains (or stops before it was ready). */
export function stopLine(
  signal: string,
  live: readonly WorkerHandle[],
  serving: readonly WorkerHandle[],
): string {
  if (serving.length > 0) return `${signal}: draining ${named(serving)} and exiting`;
  const them = live.length === 1 ? "it is" : "they are";
  return `${signal}: stopping ${named(live)} before ${them} ready, and exiting`;
}
