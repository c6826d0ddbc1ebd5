/**
 * The demo's result table and the definitions printed under it.
 *
 * @module
 */

/** One row: one server on one runtime. */
export interface Row {
  runtime: string;
  server: string;
  inFlight: number | undefined;
  completed: number | undefined;
  aborted: number | undefined;
  failed: number;
  exitMs: number | undefined;
  /** How the process ended: `exit 0`, `SIGTERM`, `killed after timeout`. */
  ended: string;
}

/** The column headers, in order. */
export const HEADERS = [
  "runtime",
  "server",
  "in flight at SIGTERM",
  "completed",
  "aborted",
  "failed client requests",
  "signal→exit ms",
] as const;

const show = (n: number | undefined): string => (n === undefined ? "?" : String(n));

/** Renders `rows` as an aligned text table (numbers right-aligned). */
export function renderTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.runtime,
    r.server,
    show(r.inFlight),
    show(r.completed),
    show(r.aborted),
    String(r.failed),
    `${show(r.exitMs)} (${r.ended})`,
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c.map((s, i) => (i < 2 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join(" | ");
  return [
    line(HEADERS),
    widths.map((w) => "-".repeat(w)).join("-+-"),
    ...cells.map(line),
  ].join("\n");
}

/** What the columns mean (printed under the table). */
export function definitions(
  config: { connections: number; lameDuckMs: number; readiness: boolean },
): string {
  const clients = config.readiness
    ? "A load balancer polls GET /readyz every 100 ms; once it fails, it opens no new\n" +
      "connection (those requests go to another backend)."
    : "--direct: no readiness check; clients reconnect straight back to the draining server.";
  return `
Load: ${config.connections} pooled keep-alive connections, one request at a time each; a third send
only GET /, the others mix GET / with /slow (100-800 ms) and /stream (800 ms). The client honours
"Connection: close", never sends on a connection the server already closed, and retries a
request only if it was not sent (connect refused), never one that was sent.
${clients}
lameduck: examples/fetch.ts with LAME_DUCK_MS=${config.lameDuckMs}. naive: the bare runtime server
(scripts/demo/naive.ts) with no signal handler: SIGTERM kills it at once, the usual way.

- in flight at SIGTERM: lameduck: the count in its "draining" event; naive: requests the client
  had sent and not fully received when it sent the signal.
- completed: lameduck: its report's "completed" (requests that finished after shutdown started,
  the lame-duck window included); naive: requests completed, client side, after the signal.
- aborted: lameduck: its report's "aborted" (cut when the drain was forced); naive: requests in
  flight at the signal that never completed.
- failed client requests: requests sent on an open connection that got no complete, correct
  200 response (reset, closed before or during the response, timeout, error status). A refused
  connect is not a failure: nothing was sent, and the request can go elsewhere.
- signal→exit ms: from sending SIGTERM to the process's exit, on the driver's clock.

Limits: with --direct (clients ignore readiness and reconnect at once) or a lame-duck window
shorter than the longest response (--lame-duck=0), lameduck loses requests too, all when the
listener closes: connections still queued in the kernel are reset, and a keep-alive client
reuses a connection whose response began before SIGTERM (so could not say "Connection: close")
just as the server closes it.`.trimStart();
}
