/**
 * RESULTS.md sections for shutting down: P2 and P3.
 *
 * @module
 */

import type { Runtime } from "./proc.ts";
import type { DrainResults, DrainRun } from "./scenarios/drain.ts";
import type { ShutdownResults } from "./scenarios/shutdown.ts";
import { commands, table } from "./markdown.ts";
import { median, span, summarize, verdict } from "./stats.ts";

const BARE: Record<Runtime, string> = {
  deno: "Deno.serve `shutdown()`",
  bun: "Bun.serve `stop()`",
  node: "node:http `close()` + `closeIdleConnections()`",
};

const ms = (x: number): string => `${Math.round(x)}`;

function codes(values: (number | null)[]): string {
  return [...new Set(values.map((c) => String(c)))].join(", ");
}

/** P2: SIGTERM to exit with idle keep-alive connections. */
export function p2Section(s: ShutdownResults, runtimes: readonly Runtime[]): string {
  const rows = runtimes.map((runtime) => {
    const bare = s.runs[`${runtime}/bare`] ?? [];
    const ld = s.runs[`${runtime}/lameduck`] ?? [];
    const ldMs = summarize(ld.map((r) => r.exitMs));
    return [
      runtime,
      `**${span(ldMs, ms)}**`,
      verdict(ldMs.median <= 100),
      `${span(summarize(bare.map((r) => r.exitMs)), ms)}`,
      span(summarize(ld.map((r, i) => r.exitMs - (bare[i]?.exitMs ?? NaN))), ms),
      `${codes(ld.map((r) => r.exitCode))} / ${codes(bare.map((r) => r.exitCode))}`,
    ];
  });
  return [
    "## P2: shutdown latency with idle keep-alive connections",
    "",
    `${s.config.connections} keep-alive connections each complete one request and sit idle ` +
    `for ${s.config.idleMs} ms, next to one silent connection opened as they went idle (it ` +
    "never sends a byte); then SIGTERM. Time from the signal (sent by the driver) to " +
    "the process's exit as the driver sees it, in ms: median (min–max). lameduck with its " +
    "defaults (`lameDuck: 0`, exits 0 after a graceful drain) against the runtime's own " +
    "graceful primitive run from a SIGTERM handler that exits when it resolves: " +
    runtimes.map((r) => BARE[r]).join(", ") +
    ". Target ≤ 100 ms (median; the max shows the outliers of a shared machine).",
    "",
    commands(
      runtimes.flatMap((r) => [s.commands[`${r}/bare`]!, s.commands[`${r}/lameduck`]!]),
      "p2",
    ),
    "",
    table(
      [
        "runtime",
        "lameduck ms",
        "target ≤ 100 ms",
        "bare primitive ms",
        "lameduck − bare ms (same round)",
        "exit codes (lameduck / bare)",
      ],
      rows,
    ),
  ].join("\n");
}

function total(runs: DrainRun[], pick: (r: DrainRun) => number): string {
  const values = runs.map(pick);
  const sum = values.reduce((a, b) => a + b, 0);
  return values.length ? `${sum} (${values.join(", ")})` : "n/a";
}

/** P3: drain under load. */
export function p3Section(d: DrainResults, runtimes: readonly Runtime[]): string {
  const c = d.config;
  const rows: string[][] = [];
  for (const runtime of runtimes) {
    for (const variant of ["bare", "lameduck", "lameduck-window"]) {
      const id = `${runtime}/${variant}`;
      const runs = d.runs[id] ?? [];
      const established = runs.reduce((a, r) => a + r.failedEstablished, 0);
      const failed = total(runs, (r) => r.failedEstablished);
      const exits = runs.map((r) => (r.bounded ? "load stopped" : ms(r.exitMs)));
      rows.push([
        runtime,
        d.labels[id] ?? variant,
        variant === "bare" ? failed : `**${failed}** ${verdict(established === 0)}`,
        total(runs, (r) => r.failedNew),
        total(runs, (r) => r.refused),
        span(summarize(runs.map((r) => r.okAfter))),
        exits.every((e) => e !== "load stopped")
          ? span(summarize(runs.map((r) => r.exitMs)), ms)
          : exits.join(", "),
        codes(runs.map((r) => r.exitCode)),
      ]);
    }
  }
  const before = Object.values(d.runs).flat().reduce((a, r) => a + r.failedBeforeSignal, 0);
  const kinds: Record<string, number> = {};
  for (const r of Object.values(d.runs).flat()) {
    for (const [k, v] of Object.entries(r.failures)) kinds[k] = (kinds[k] ?? 0) + v;
  }
  const rounds = median(Object.values(d.runs).map((r) => r.length));
  return [
    "## P3: drain under load",
    "",
    `${c.connections} pooled keep-alive clients (bench/load.ts, raw sockets) send \`GET /\` back ` +
    `to back; SIGTERM after ${c.beforeMs} ms; the load continues until the process exits ` +
    `(clients stop at the latest ${c.boundMs} ms after the signal: "load stopped"). A client ` +
    "never sends on a connection the server closed or half-closed, honours `Connection: " +
    `close\`, retries a refused connect after ${c.retryMs} ms, and never retries a request it ` +
    'sent: a sent request without a complete `200` is a failure. "Established": the ' +
    'connection had already completed a response; "new": it was the connection\'s first ' +
    "request. Refused: connect attempts refused between the signal and the exit. Failure " +
    "columns give the sum over the rounds (each round). Target for lameduck: 0 failed on " +
    `established connections. ${rounds} rounds, variants interleaved.`,
    "",
    commands(Object.values(d.commands), "p3"),
    "",
    table(
      [
        "runtime",
        "server",
        "failed, established",
        "failed, new connection",
        "refused connects",
        "completed after SIGTERM",
        "SIGTERM→exit ms",
        "exit code",
      ],
      rows,
    ),
    "",
    `Failures before the signal: ${before}. Failures by kind over all runs: ` +
    (Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(", ") || "none") + ".",
  ].join("\n");
}
