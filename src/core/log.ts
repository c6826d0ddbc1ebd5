/**
 * The default logger: one concise human line per lifecycle event, on stderr.
 *
 * @module
 */

import type { LifecycleEvent } from "./types.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function describeError(error: unknown): string {
  return error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
}

/** Formats an event as the line the default logger prints. */
export function formatEvent(event: LifecycleEvent): string {
  switch (event.type) {
    case "listening":
      return `listening on ${event.address.url} (${event.runtime})`;
    case "draining":
      return `${event.reason}: draining ${plural(event.inFlight, "request")}`;
    case "progress":
      return `draining: ${plural(event.inFlight, "request")} in flight after ` +
        `${(event.elapsedMs / 1000).toFixed(1)} s`;
    case "forced": {
      const aborting = `aborting ${plural(event.inFlight, "request")}`;
      if (event.cause === "deadline") {
        return `drain deadline passed after ${(event.elapsedMs / 1000).toFixed(1)} s: ${aborting}`;
      }
      if (event.cause === "close()") return `close() forces the shutdown: ${aborting}`;
      return `second ${event.cause} forces the shutdown: ${aborting}`;
    }
    case "failed":
      return `cannot listen on ${event.address}: ${
        event.error instanceof Error ? event.error.message : String(event.error)
      }`;
    case "hook":
      return event.hook.ok
        ? `hook "${event.hook.name}" done in ${event.hook.durationMs} ms`
        : `hook "${event.hook.name}" failed after ${event.hook.durationMs} ms: ${event.hook.error}`;
    case "error":
      if (!event.request) return `error: ${describeError(event.error)}`;
      return `${event.request.method} ${event.request.url}: ${
        event.stage === "send" ? "cannot send the response" : "fetch failed"
      }: ${describeError(event.error)}`;
    case "warning":
      return event.message;
    case "closed": {
      const r = event.report;
      const hooks = r.hooks.length === 0
        ? ""
        : `, hooks ${r.hooks.filter((h) => h.ok).length}/${r.hooks.length} ok`;
      return `closed after ${r.durationMs} ms (${r.graceful ? "graceful" : "forced"}): ` +
        `${r.completed} completed, ${r.aborted} aborted${hooks}`;
    }
  }
}

/** Prints `event` on stderr, prefixed with `lameduck:`. */
export function logToStderr(event: LifecycleEvent): void {
  console.error(`lameduck: ${formatEvent(event)}`);
}
