/**
 * RESULTS.md sections for serving: P1, P1n, P5 and memory.
 *
 * @module
 */

import { commands, table } from "./markdown.ts";
import type { Runtime } from "./proc.ts";
import type { CoreResults } from "./scenarios/core.ts";
import type { MemoryResults } from "./scenarios/memory.ts";
import { BODIES, type ThroughputResults } from "./scenarios/throughput.ts";
import { int, median, ratios, ratioSpan, span, summarize, verdict } from "./stats.ts";

/** As shown in the tables: verdicts follow the printed value. */
const round2 = (x: number): number => Math.round(x * 100) / 100;

const BARE: Record<Runtime, string> = { deno: "Deno.serve", bun: "Bun.serve", node: "node:http" };

function rpsOf(t: ThroughputResults, id: string, body: string): number[] {
  return t.series[id]?.[body]?.rps ?? [];
}

function cpuOf(t: ThroughputResults, id: string, body: string): number[] {
  return t.series[id]?.[body]?.cpuUs ?? [];
}

/** "bare → lameduck µs (ratio bare / lameduck)": the cost per request, robust to contention. */
function cpuCell(bare: number[], ld: number[]): string {
  if (bare.length === 0 || ld.length === 0) return "n/a";
  const b = median(bare);
  const l = median(ld);
  return `${b.toFixed(1)} → ${l.toFixed(1)} (**${(b / l).toFixed(2)}**)`;
}
const micro = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : "n/a");

function errorsNote(t: ThroughputResults): string {
  const bad = Object.entries(t.series).flatMap(([id, bodies]) =>
    Object.entries(bodies).filter(([, s]) => s.errors.some((e) => e !== 0))
      .map(([body, s]) => `${id} ${body}: ${s.errors.join("/")}`)
  );
  return bad.length ? `wrk reported errors: ${bad.join("; ")}.` : "wrk reported no errors.";
}

/** The handlers P1 serves on both sides: the plain fetch function and a Hono app. */
const APPS = [
  { suffix: "", label: "plain `Response`" },
  { suffix: "-hono", label: "Hono app (`c.text`)" },
  { suffix: "-tls", label: "plain `Response`, TLS (both sides)" },
] as const;

/** P1: lameduck / bare on each runtime. */
export function p1Section(t: ThroughputResults, runtimes: readonly Runtime[]): string {
  const rows: string[][] = [];
  for (const runtime of runtimes) {
    for (const app of APPS) {
      if (!t.series[`${runtime}/bare${app.suffix}`]) continue;
      for (const body of BODIES) {
        const bare = rpsOf(t, `${runtime}/bare${app.suffix}`, body.id);
        const ld = rpsOf(t, `${runtime}/lameduck${app.suffix}`, body.id);
        const r = ratios(ld, bare);
        rows.push([
          runtime,
          app.label,
          body.label,
          `**${ratioSpan(r)}**`,
          verdict(round2(r.median) >= 0.97),
          `${app.suffix === "-tls" && runtime === "node" ? "node:https" : BARE[runtime]} ${
            span(summarize(bare))
          }`,
          `lameduck ${span(summarize(ld))}`,
          cpuCell(
            cpuOf(t, `${runtime}/bare${app.suffix}`, body.id),
            cpuOf(t, `${runtime}/lameduck${app.suffix}`, body.id),
          ),
        ]);
      }
    }
  }
  return [
    "## P1: overhead while serving",
    "",
    "Throughput of lameduck relative to the bare runtime server serving the same fetch handler " +
    "(on Node: raw `node:http` with a `(req, res)` handler, see P1n). Ratio = lameduck / bare " +
    "in the same round; median of the rounds (min–max). Target ≥ 0.97. Absolute req/s " +
    "(median, min–max) are for this machine only. The last column is the server's own CPU " +
    "time per request (all its threads, from /proc, medians): it hardly moves when other " +
    "processes compete for the 2 cores, so on a busy machine its ratio is the steadier " +
    "estimate of the overhead.",
    "",
    commands([
      ...runtimes.flatMap((r) =>
        APPS.flatMap((
          a,
        ) => [t.commands[`${r}/bare${a.suffix}`], t.commands[`${r}/lameduck${a.suffix}`]])
          .filter((c): c is string => c !== undefined)
      ),
      `${t.wrkCommand}   # after ${t.config.warmupSeconds} s of unmeasured warm-up per body`,
    ], "p1"),
    "",
    table(
      [
        "runtime",
        "handler",
        "body",
        "lameduck / bare",
        "target ≥ 0.97",
        "bare req/s",
        "lameduck req/s",
        "server CPU µs/request, bare → lameduck (bare / lameduck)",
      ],
      rows,
    ),
    "",
    errorsNote(t),
  ].join("\n");
}

/** P1n: Node, lameduck vs raw node:http, @hono/node-server and srvx. */
export function p1nSection(t: ThroughputResults): string {
  const ids = [
    "node/bare",
    "node/lameduck",
    "node/hono",
    "node/srvx",
    "node/lameduck-native",
    "node/lameduck-app",
    "node/hono-app",
  ];
  const names = [
    "node:http",
    "lameduck",
    "@hono/node-server",
    "srvx",
    "lameduck, overrideGlobals: false",
    "lameduck, Hono app",
    "@hono/node-server, Hono app",
  ];
  const present = ids.filter((id) => t.series[id] !== undefined);
  const rows: string[][] = [];
  const row = (handler: string, body: (typeof BODIES)[number], ld: string, hono: string) => {
    const raw = rpsOf(t, "node/bare", body.id);
    const mine = rpsOf(t, ld, body.id);
    const vsRaw = ratios(mine, raw);
    const vsHono = ratios(mine, rpsOf(t, hono, body.id));
    // By CPU per request: the other's cost over lameduck's (> 1: lameduck is cheaper).
    const myCpu = cpuOf(t, ld, body.id);
    const cpuRaw = ratios(cpuOf(t, "node/bare", body.id), myCpu);
    const cpuHono = ratios(cpuOf(t, hono, body.id), myCpu);
    rows.push([
      handler,
      body.label,
      `**${ratioSpan(vsRaw)}** (${verdict(round2(vsRaw.median) >= 0.9)})`,
      `**${ratioSpan(vsHono)}** (${verdict(round2(vsHono.median) >= 1)})`,
      ratioSpan(ratios(rpsOf(t, hono, body.id), raw)),
      `${ratioSpan(cpuRaw)} · ${ratioSpan(cpuHono)}`,
      span(summarize(myCpu), micro),
    ]);
  };
  for (const body of BODIES) row("`new Response(body)`", body, "node/lameduck", "node/hono");
  if (t.series["node/lameduck-app"]) {
    for (const body of BODIES) row("Hono app", body, "node/lameduck-app", "node/hono-app");
  }
  if (t.series["node/lameduck-native"]) {
    for (const body of BODIES) {
      row(
        "`new Response(body)`, `overrideGlobals: false`",
        body,
        "node/lameduck-native",
        "node/hono",
      );
    }
  }
  const srvx = BODIES.map((body) => {
    const raw = rpsOf(t, "node/bare", body.id);
    return `${body.label}: srvx / raw ${ratioSpan(ratios(rpsOf(t, "node/srvx", body.id), raw))}, ` +
      `lameduck / srvx ${
        ratioSpan(ratios(rpsOf(t, "node/lameduck", body.id), rpsOf(t, "node/srvx", body.id)))
      }`;
  }).join("; ");
  const abs = BODIES.map((body) => [
    body.label,
    ...present.map((id) => span(summarize(rpsOf(t, id, body.id)))),
  ]);
  return [
    "## P1n: Node adapter vs raw node:http and peers",
    "",
    "Same wrk load. lameduck is the built npm package (`npm/mod.js`, as users run it on Node) " +
    "and runs with its defaults (`overrideGlobals` on for Node) unless the " +
    "row says otherwise. Peers run the same handler with their default options " +
    "(`@hono/node-server` replaces the global `Request`/`Response` with its own; srvx gets a " +
    "plain `Response`, not its `FastResponse`). The Hono app answers the same routes with " +
    "`c.text()` (bench/servers/app.ts), on lameduck and on `@hono/node-server`. Targets: " +
    "lameduck ≥ 0.90 of raw `node:http`, ≥ 1.0 of `@hono/node-server` with the same handler.",
    "",
    commands([...present.map((id) => t.commands[id]!), t.wrkCommand], "p1"),
    "",
    table(
      [
        "handler",
        "body",
        "lameduck / node:http (≥ 0.90)",
        "lameduck / @hono/node-server (≥ 1.0)",
        "@hono/node-server / node:http",
        "by CPU per request: vs node:http · vs @hono/node-server",
        "lameduck CPU µs / request",
      ],
      rows,
    ),
    "",
    "CPU per request is the server process's CPU time (all threads, `/proc/<pid>/stat`) during " +
    "the measured wrk run divided by the requests served; its ratio is the other server's CPU " +
    "per request over lameduck's (> 1: lameduck does the same work with less CPU). Other " +
    "processes competing for the two cores slow the server and wrk alike, so this ratio moves " +
    "much less than req/s on a shared machine; the targets are judged on req/s.",
    "",
    `srvx (default options): ${srvx}.`,
    "",
    "Absolute req/s on this machine, median (min–max):",
    "",
    table(["body", ...present.map((id) => names[ids.indexOf(id)]!)], abs),
  ].join("\n");
}

/** P5: the core's per-request cost. */
export function p5Section(c: CoreResults, runtimes: readonly Runtime[]): string {
  const rows: string[][] = [];
  let description = "";
  for (const runtime of runtimes) {
    const run = c.runs[runtime];
    if (!run) {
      rows.push([runtime, "failed", "", "", ""]);
      continue;
    }
    const base = run.nsPerRequest.baseline ?? [];
    const best = (xs: number[]) => Math.min(...xs);
    const cost = (id: string) => {
      const v = run.nsPerRequest[id] ?? [];
      const paired = median(v.map((x, i) => x - (base[i] ?? NaN)));
      return `**${Math.round(best(v) - best(base))}** (${Math.round(paired)})`;
    };
    const baseCell = `${Math.round(best(base))} (${Math.round(median(base))})`;
    rows.push([runtime, baseCell, cost("default"), cost("configured"), cost("signal")]);
    description = Object.entries(run.labels).map(([id, label]) => `\`${id}\`: ${label}`).join("; ");
    description += `. ${run.samples} batches of ${int(run.iterations)} requests per variant`;
  }
  return [
    "## P5: core cost per request",
    "",
    "`LameduckServer.open` → `Exchange.run` → `Exchange.end`/`release` with the request context, " +
    "no sockets, on a fake adapter. Method: a calibrated loop timed with `performance.now()` " +
    "(no bench library; not `deno bench`), the same file on each runtime, batches of the " +
    "variants alternating. Cost in ns per request = best batch of the variant minus best batch " +
    "of the baseline (noise on a shared machine only ever adds time); in parentheses the median " +
    "of the per-batch differences, which carries that noise. " + description + ".",
    "",
    commands(runtimes.map((r) => c.commands[r] ?? ""), "p5"),
    "",
    table([
      "runtime",
      "baseline ns",
      "core, defaults",
      "core, readiness + maxInFlight",
      "core, ctx.signal read",
    ], rows),
  ].join("\n");
}

/** Memory with many idle keep-alive connections. */
export function memorySection(m: MemoryResults, runtimes: readonly Runtime[]): string {
  const rows: string[][] = [];
  const mib = (x: number) => (x / 1024).toFixed(0);
  for (const runtime of runtimes) {
    const bare = m.runs[`${runtime}/bare`] ?? [];
    const ld = m.runs[`${runtime}/lameduck`] ?? [];
    const loaded = (runs: typeof bare) => runs.map((r) => r.loadedKiB);
    const perConn = (runs: typeof bare) =>
      summarize(runs.map((r) => ((r.loadedKiB - r.idleKiB) * 1024) / m.config.count));
    const open = [...bare, ...ld].map((r) => r.open);
    rows.push([
      runtime,
      `**${ratioSpan(ratios(loaded(ld), loaded(bare)))}**`,
      `${span(summarize(bare.map((r) => r.idleKiB)), mib)} → ${span(summarize(loaded(bare)), mib)}`,
      `${span(summarize(ld.map((r) => r.idleKiB)), mib)} → ${span(summarize(loaded(ld)), mib)}`,
      `${span(perConn(bare), int)} / ${span(perConn(ld), int)}`,
      span(summarize(open), int),
    ]);
  }
  return [
    "## Memory: idle keep-alive connections",
    "",
    `Resident set size (\`/proc/<pid>/status\` VmRSS) of the server process after a 1 s wrk ` +
    `warm-up ("idle") and ${int(m.config.count)} keep-alive connections that each completed ` +
    `one request and sit idle (read ${m.config.settleMs} ms after the last response; the ` +
    "clients are one separate Node process). Ratio = lameduck / bare RSS with the connections, " +
    "same round. Node closes keep-alive connections idle for 5 s (`keepAliveTimeout`), Bun " +
    "after 10 s: the last column shows how many were still open right after the reading. On " +
    "Node, lameduck is the built npm package (`npm/mod.js`, `BENCH_NODE_PACKAGE`), as users " +
    "run it: loading its TypeScript sources through Node's type stripping costs about 20 MiB " +
    "more (with the sources, this ratio was 1.07).",
    "",
    commands([
      ...runtimes.flatMap((r) => [m.commands[`${r}/bare`]!, m.commands[`${r}/lameduck`]!]),
      m.clientCommand,
    ], "memory"),
    "",
    table(
      [
        "runtime",
        "lameduck / bare RSS",
        "bare MiB idle → loaded",
        "lameduck MiB idle → loaded",
        "bytes per connection (bare / lameduck)",
        "open at reading",
      ],
      rows,
    ),
    "",
    `Median of ${median(runtimes.map((r) => (m.runs[`${r}/bare`] ?? []).length))} rounds.`,
  ].join("\n");
}
