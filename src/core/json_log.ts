/**
 * Lifecycle events as plain data: the `"json"` logger's records (one JSON object per line, in
 * pino's shape, so `pino-pretty` and log pipelines read them), and the `toJSON` of the events a
 * function logger receives, so `JSON.stringify(event)` keeps an error's message and a request's
 * method and URL (an `Error` and a `Request` stringify as `{}`).
 *
 * @module
 */

import { formatEvent } from "./log.ts";
import { pathOf } from "./responses.ts";
import type { LifecycleEvent } from "./types.ts";

/** pino's numeric levels. */
export const INFO = 30;
export const WARN = 40;
export const ERROR = 50;

/** Which worker of `lameduck run` a process is (`LAMEDUCK_WORKER_ID`, and its PID). */
export interface WorkerIdentity {
  id: number;
  pid: number;
}

/**
 * One record in pino's shape: `level`, `time` (epoch milliseconds) and `msg` first, then
 * `fields`. The `"json"` logger's records and `lameduck run --log json`'s lines are these.
 */
export function pinoRecord(
  level: number,
  time: number,
  msg: string,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  return { level, time, msg, ...fields };
}

/** A thrown value as data: `{ name, message, stack }` for an `Error` (and its `cause`). */
export function errorData(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const data: Record<string, unknown> = { name: error.name, message: error.message };
  if (error.stack !== undefined) data.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") data.code = code;
  if (error.cause !== undefined && depth < 3) data.cause = errorData(error.cause, depth + 1);
  return data;
}

function levelOf(event: LifecycleEvent): number {
  switch (event.type) {
    case "error":
    case "failed":
      return ERROR;
    case "forced":
    case "warning":
      return WARN;
    case "hook":
      return event.hook.ok ? INFO : ERROR;
    case "closed":
      return event.report.graceful && event.report.hooks.every((h) => h.ok) ? INFO : WARN;
    default:
      return INFO;
  }
}

/**
 * The event's fields as plain data: `error` under `errorKey` as {@linkcode errorData}, a
 * `request` under `requestKey` as `request(r)`, everything else as it is.
 */
function plain(
  event: LifecycleEvent,
  errorKey: string,
  requestKey: string,
  request: (r: Request) => Record<string, string>,
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === "error") data[errorKey] = errorData(value);
    else if (key === "request") {
      if (value !== undefined) data[requestKey] = request(value as Request);
    } else data[key] = value;
  }
  return data;
}

/**
 * Gives `event` a non-enumerable `toJSON`: `JSON.stringify(event)` then writes `error` as
 * `{ name, message, stack }` and `request` as `{ method, url }`, for handler and hook errors
 * alike. The event's own fields stay what the types say (`error` the thrown value, `request`
 * the `Request`). Returns `event`.
 */
export function withToJSON(event: LifecycleEvent): LifecycleEvent {
  Object.defineProperty(event, "toJSON", {
    value: () => plain(event, "error", "request", (r) => ({ method: r.method, url: r.url })),
    enumerable: false,
  });
  return event;
}

/**
 * The `"json"` logger's record of `event`: pino's `level`, `time` (epoch milliseconds) and
 * `msg`, then `worker: { id, pid }` under `lameduck run`, `type` and the event's data; an error
 * under `err`, the request under `req` as `{ method, path }` (no query string: it may carry
 * secrets).
 */
export function jsonRecord(
  event: LifecycleEvent,
  time: number,
  worker?: WorkerIdentity,
): Record<string, unknown> {
  return pinoRecord(levelOf(event), time, formatEvent(event, true), {
    ...(worker ? { worker } : {}),
    ...plain(event, "err", "req", (r) => ({ method: r.method, path: pathOf(r.url) })),
  });
}

/** Writes `event` as one JSON line through `write` (stderr by default). */
export function logJson(
  event: LifecycleEvent,
  write: (line: string) => void = (line) => console.error(line),
  now: () => number = Date.now,
  worker?: WorkerIdentity,
): void {
  write(JSON.stringify(jsonRecord(event, now(), worker)));
}
