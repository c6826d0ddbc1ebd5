/**
 * The supervisor's log lines: each is a {@linkcode Line} (a message, an event name, the worker
 * it is about), written as text (`lameduck run: <msg>`) or, with `--log json`, as one JSON
 * object in pino's shape (`level`, `time`, `msg`, then `name`, `pid`, `event`, `worker`).
 * Every line about a worker names its id and PID in both.
 *
 * @module
 */

import process from "node:process";
import { ERROR, INFO, pinoRecord, WARN } from "../core/json_log.ts";
import type { WorkerExit, WorkerHandle } from "./worker.ts";

/** How the supervisor writes its lines (`--log`). */
export type LogFormat = "text" | "json";

/** One line of the supervisor's log. */
export interface Line {
  /** What happened, for a machine: `worker-ready`, `restart-done`, ... */
  event: string;
  /** The human sentence (the whole text line after `lameduck run: `). */
  msg: string;
  /** `info` unless said. */
  level?: "info" | "warn" | "error";
  /** The worker the line is about. */
  worker?: WorkerHandle;
  /** The workers the line is about (a stop, a restart). */
  workers?: readonly WorkerHandle[];
  /** More structured fields (`durationMs`, `signal`, `code`, ...). */
  fields?: Record<string, unknown>;
}

/** Writes one line of the supervisor's log. */
export type Log = (line: Line) => void;

/** A worker in a JSON line: `{ id, pid }` (`pid` null when it could not start). */
export function ref(worker: WorkerHandle): { id: number; pid: number | null } {
  return { id: worker.generation, pid: worker.pid ?? null };
}

const LEVELS = { info: INFO, warn: WARN, error: ERROR } as const;

/**
 * The text of `line`: `lameduck run: <msg>`, or with `json` its pino record (`name` is
 * `lameduck run`, `pid` the supervisor's).
 */
export function formatLine(line: Line, format: LogFormat, pid: number, time: number): string {
  if (format === "text") return `lameduck run: ${line.msg}`;
  const { event, msg, level = "info", worker, workers, fields } = line;
  return JSON.stringify(pinoRecord(LEVELS[level], time, msg, {
    name: "lameduck run",
    pid,
    event,
    ...(worker ? { worker: ref(worker) } : {}),
    ...(workers ? { workers: workers.map(ref) } : {}),
    ...fields,
  }));
}

/** "worker 3 (pid 41)". */
export function one(worker: WorkerHandle): string {
  return `worker ${worker.generation} (pid ${worker.pid ?? "none"})`;
}

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
  return `${one(worker)} ${how(exit)}${drained}`;
}

/** A worker's exit as JSON fields: `code`, `signal`, and its drain report if it sent one. */
export function exitFields(worker: WorkerHandle, exit: WorkerExit): Record<string, unknown> {
  return {
    code: exit.code,
    signal: exit.signal,
    ...(worker.report ? { report: worker.report } : {}),
  };
}

/** "worker 3" or "workers 3, 4" (systemd's `STATUS=`). */
export function named(workers: readonly WorkerHandle[]): string {
  if (workers.length === 0) return "no worker";
  const list = workers.map((w) => w.generation).join(", ");
  return workers.length === 1 ? `worker ${list}` : `workers ${list}`;
}

/** "worker 3 (pid 41)" or "workers 3 (pid 41), 4 (pid 42)" (the log). */
export function listed(workers: readonly WorkerHandle[]): string {
  if (workers.length === 1) return one(workers[0]!);
  if (workers.length === 0) return "no worker";
  return `workers ${workers.map((w) => `${w.generation} (pid ${w.pid ?? "none"})`).join(", ")}`;
}

/** What the supervisor saw of a worker that did not report ready in time. */
export function notReady(worker: WorkerHandle, timeoutMs: number): string {
  const seen = worker.connected
    ? "it connected to the notify socket but never sent READY=1: did its server start listening?"
    : "it never connected to the notify socket: does it call serve()? A Deno worker also " +
      "needs -A or the flags in docs/runtimes.md, Deno permissions";
  return `not ready after ${timeoutMs} ms (${seen})`;
}

/** "worker 4 (pid 44) keeps serving" or "workers 4 (pid 44), 5 (pid 45) keep serving". */
export function keepServing(serving: readonly WorkerHandle[]): string {
  return `${listed(serving)} keep${serving.length === 1 ? "s" : ""} serving`;
}

/** The first stop signal's line: what drains (or stops before it was ready). */
export function stopLine(
  signal: string,
  live: readonly WorkerHandle[],
  serving: readonly WorkerHandle[],
): Line {
  const them = live.length === 1 ? "it is" : "they are";
  const msg = serving.length > 0
    ? `${signal}: draining ${listed(serving)} and exiting`
    : `${signal}: stopping ${listed(live)} before ${them} ready, and exiting`;
  return { event: "stop", workers: serving.length > 0 ? serving : live, msg, fields: { signal } };
}

/** A second stop signal, forwarded to `live`. */
export function forcedLine(signal: string, live: readonly WorkerHandle[]): Line {
  const msg = `${signal} again: forwarding it, the workers force their shutdown`;
  return { event: "stop-forced", level: "warn", workers: live, msg, fields: { signal } };
}

/** A worker reported ready. */
export function readyLine(worker: WorkerHandle): Line {
  const ms = Math.round(performance.now() - worker.startedAt);
  const msg = `${one(worker)} ready after ${ms} ms`;
  return { event: "worker-ready", worker, msg, fields: { readyAfterMs: ms } };
}

/** A worker exited (when it was expected to). */
export function exitedLine(worker: WorkerHandle, exit: WorkerExit): Line {
  const msg = ended(worker, exit);
  return { event: "worker-exited", worker, msg, fields: exitFields(worker, exit) };
}

/** `worker` died or failed (`why`); its slot gets a new one in `delay` ms. */
export function lostLine(
  worker: WorkerHandle,
  serving: readonly WorkerHandle[],
  why: string,
  delay: number,
): Line {
  const msg = `${why}; replacing it in ${delay} ms (serving: ${listed(serving)})`;
  return {
    event: "worker-lost",
    level: "warn",
    worker,
    workers: serving,
    msg,
    fields: { delayMs: delay },
  };
}

/** A restart signal that is ignored, and why. */
export function ignoredLine(signal: string, why: string): Line {
  const msg = `${signal}: ${why}; ignored`;
  return { event: "restart-ignored", level: "warn", msg, fields: { signal } };
}

/** A restart begins. */
export function restartLine(signal: string, serving: readonly WorkerHandle[]): Line {
  const msg = `${signal}: restarting ${listed(serving)} one at a time (each serves until its ` +
    `replacement is ready)`;
  return { event: "restart", workers: serving, msg, fields: { signal } };
}

/** A restart failed at a new worker (`failure`); `serving` keep serving. */
export function restartFailedLine(
  signal: string,
  failure: string,
  serving: readonly WorkerHandle[],
): Line {
  const msg = `restart failed: ${failure}; ${keepServing(serving)}`;
  return {
    event: "restart-failed",
    level: "error",
    workers: serving,
    msg,
    fields: { signal, reason: failure },
  };
}
