/**
 * RESULTS.md sections for `lameduck run`: P6 (each hand-over mode / started directly) and P7
 * (`--workers 2` / one worker).
 *
 * @module
 */

import { commands, table } from "./markdown.ts";
import type { Runtime } from "./proc.ts";
import { setupsFor, type SupervisedResults } from "./scenarios/supervised.ts";
import { ratios, ratioSpan, span, summarize, verdict } from "./stats.ts";

const round2 = (x: number): number => Math.round(x * 100) / 100;

function allCommands(t: SupervisedResults, runtimes: readonly Runtime[]): string[] {
  return [
    ...runtimes.flatMap((r) => setupsFor(r).map((s) => t.commands[`${r}/${s.id}`]!)),
    `${t.wrkCommand}   # after ${t.config.warmupSeconds} s of unmeasured warm-up`,
  ];
}

const cpuText = (x: number): string => x.toFixed(1);

/** P6: through `lameduck run` / direct, per runtime and mode. */
export function p6Section(t: SupervisedResults, runtimes: readonly Runtime[]): string {
  const rows: string[][] = [];
  for (const runtime of runtimes) {
    const direct = t.series[runtime]?.direct ?? [];
    const directCpu = t.cpuUs?.[runtime]?.direct ?? [];
    for (const setup of setupsFor(runtime)) {
      const mode = setup.id;
      if (mode === "direct" || /-\d+$/.test(mode)) continue;
      const through = t.series[runtime]?.[mode] ?? [];
      const throughCpu = t.cpuUs?.[runtime]?.[mode] ?? [];
      const r = ratios(through, direct);
      // Targets: >= 0.95 in reuseport everywhere, and in fd on Node (fd on Deno and Bun goes
      // through node:http, whose speed is another issue's).
      const target = mode === "reuseport" || runtime === "node";
      rows.push([
        runtime,
        mode === "fd-globals" ? "`fd`, `overrideGlobals: true`" : `\`${mode}\``,
        `**${ratioSpan(r)}**`,
        target ? verdict(round2(r.median) >= 0.95) : "no target",
        ratioSpan(ratios(directCpu, throughCpu)),
        span(summarize(direct)),
        span(summarize(through)),
        span(summarize(directCpu), cpuText),
        span(summarize(throughCpu), cpuText),
      ]);
    }
  }
  return [
    "## P6: serving through `lameduck run`",
    "",
    "Requests per second of `bench/servers/lameduck.ts` (hello route) through `lameduck run` " +
    "with one worker, relative to the same server started directly, in the same round; " +
    "median of the rounds (min–max). Target ≥ 0.95 in `reuseport` mode everywhere and in " +
    "`fd` mode on Node. `reuseport` runs with `--force` (the sysctl matters for restarts, not " +
    "for serving); Deno gets `--unstable-net` there. The CPU columns are the server's CPU time " +
    "per request (supervisor and worker, or the server started directly; all threads), which " +
    "other load on the machine disturbs much less than req/s; `CPU ratio` is direct / through " +
    "(1.0: the same cost per request).",
    "",
    commands(allCommands(t, runtimes), "p6"),
    "",
    table(
      [
        "runtime",
        "handover",
        "req/s ratio",
        "target",
        "CPU ratio",
        "direct req/s",
        "lameduck run req/s",
        "direct µs CPU/req",
        "lameduck run µs CPU/req",
      ],
      rows,
    ),
  ].join("\n");
}

/** P7: `--workers 2` / one worker. */
export function p7Section(t: SupervisedResults, runtimes: readonly Runtime[]): string {
  const rows = runtimes.map((runtime) => {
    const native = runtime === "node" ? "fd" : "reuseport";
    const one = t.series[runtime]?.[native] ?? [];
    const two = t.series[runtime]?.[`${native}-2`] ?? [];
    return [
      runtime,
      `\`${native}\``,
      `**${ratioSpan(ratios(two, one))}**`,
      span(summarize(one)),
      span(summarize(two)),
    ];
  });
  return [
    "## P7: `--workers 2`",
    "",
    "Requests per second with `--workers 2` relative to one worker, in the mode that serves " +
    "on the runtime's native server, same rounds and commands as P6. On 2 cores wrk takes one " +
    "of them, so more than ~1.3 is not to be expected here.",
    "",
    table(["runtime", "handover", "2 workers / 1", "1 worker req/s", "2 workers req/s"], rows),
  ].join("\n");
}
