/**
 * The default logger: one concise human line per lifecycle event, on stderr.
 *
 * @module
 */

import type { WorkerIdentity } from "./json_log.ts";
import { pathOf } from "./responses.ts";
import type { LifecycleEvent } from "./types.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function withStack(error: unknown): string {
  return error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Formats an event as the line the default logger prints. `brief` (the JSON logger's `msg`)
 * leaves out stacks and names a request by its path, since the record carries both.
 */
export function formatEvent(event: LifecycleEvent, brief = false): string {
  const describeError = brief ? messageOf : withStack;
  switch (event.type) {
    case "listening":
      return `listening on ${event.address.url} (${event.runtime})`;
    case "draining": {
      const drain = `at most ${seconds(event.drainTimeoutMs)} s`;
      const window = event.lameDuckMs > 0
        ? `: lame-duck window of ${seconds(event.lameDuckMs)} s starts (still serving, ` +
          `readiness 503), then the listener closes and the drain lasts ${drain}`
        : `, ${drain}`;
      const force = event.signals.length === 0
        ? ""
        : `; a second ${event.signals.join(" or ")} forces the shutdown`;
      return `${event.reason}: draining ${plural(event.inFlight, "request")}${window}${force}`;
    }
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
      return `${event.request.method} ${brief ? pathOf(event.request.url) : event.request.url}: ${
        event.stage === "send" ? "cannot send the response" : "fetch failed"
      }: ${describeError(event.error)}`;
    case "warning":
      return event.message;
    case "closed": {
      const r = event.report;
      const hooks = r.hooks.length === 0
        ? ""
        : `, hooks ${r.hooks.filter((h) => h.ok).length}/${r.hooks.length} ok`;
      const exit = event.exitCode === undefined ? "" : `; exiting with code ${event.exitCode}`;
      return `closed after ${r.durationMs} ms (${r.graceful ? "graceful" : "forced"}): ` +
        `${r.completed} completed, ${r.aborted} aborted${hooks}${exit}`;
    }
  }
}

/** The text lines' prefix: `lameduck:`, or `lameduck[worker 2, pid 4242]:` under `lameduck run`. */
export function linePrefix(worker?: WorkerIdentity): string {
  return worker ? `lameduck[worker ${worker.id}, pid ${worker.pid}]:` : "lameduck:";
}

/** Prints `event` on stderr, prefixed with {@linkcode linePrefix}. */
export function logToStderr(event: LifecycleEvent, worker?: WorkerIdentity): void {
  console.error(`${linePrefix(worker)} ${formatEvent(event)}`);
}
