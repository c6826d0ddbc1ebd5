/**
 * Delivering a lifecycle event to the configured `logger`: text lines on stderr by default,
 * JSON lines with `"json"`, nothing with `false`, or the user's function (whose throw is
 * reported on stderr, never propagated).
 *
 * @module
 */

import { logJson, withToJSON, type WorkerIdentity } from "./json_log.ts";
import { linePrefix, logToStderr } from "./log.ts";
import type { LifecycleEvent, Logger } from "./types.ts";

/** The worker this process is under `lameduck run`: the built-in loggers name it. */
let identity: WorkerIdentity | undefined;

/** The worker this process is under `lameduck run`, if it was told. */
export function workerIdentity(): WorkerIdentity | undefined {
  return identity;
}

/** Sets the worker the built-in loggers name (once, by `serve()`, from `LAMEDUCK_WORKER_ID`). */
export function setWorkerIdentity(worker: WorkerIdentity | undefined): void {
  identity = worker;
}

/**
 * Sends `event` to `logger`. `print: false` skips the built-in loggers only (the `listening`
 * line when `onListen` is given); a function still receives the event.
 */
export function emitTo(logger: Logger | undefined, event: LifecycleEvent, print = true): void {
  if (logger === false) return;
  if (logger === undefined || logger === "json") {
    if (!print) return;
    if (logger === "json") logJson(event, undefined, undefined, identity);
    else logToStderr(event, identity);
    return;
  }
  try {
    logger(withToJSON(event));
  } catch (error) {
    console.error(`${linePrefix(identity)} the logger threw:`, error);
  }
}
