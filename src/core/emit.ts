/**
 * Delivering a lifecycle event to the configured `logger`: text lines on stderr by default,
 * JSON lines with `"json"`, nothing with `false`, or the user's function (whose throw is
 * reported on stderr, never propagated).
 *
 * @module
 */

import { logJson, withToJSON } from "./json_log.ts";
import { logToStderr } from "./log.ts";
import type { LifecycleEvent, Logger } from "./types.ts";

/**
 * Sends `event` to `logger`. `print: false` skips the built-in loggers only (the `listening`
 * line when `onListen` is given); a function still receives the event.
 */
export function emitTo(logger: Logger | undefined, event: LifecycleEvent, print = true): void {
  if (logger === false) return;
  if (logger === undefined || logger === "json") {
    if (!print) return;
    if (logger === "json") logJson(event);
    else logToStderr(event);
    return;
  }
  try {
    logger(withToJSON(event));
  } catch (error) {
    console.error("lameduck: the logger threw:", error);
  }
}
