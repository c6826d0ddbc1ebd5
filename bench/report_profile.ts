/**
 * The RESULTS.md section for the Node CPU profiles.
 *
 * @module
 */

import { commands, table } from "./markdown.ts";
import type { ProfileResults, SelfTime } from "./scenarios/profile.ts";
import { int } from "./stats.ts";

/** The Node CPU profiles: lameduck and raw node:http side by side. */
export function profileSection(p: ProfileResults | { error: string }): string {
  const head = "## CPU profile: lameduck on Node vs raw node:http, hello world";
  if ("error" in p) return `${head}\n\nThe profile run failed: ${p.error}`;
  const { lameduck: ld, raw } = p;
  const rawAreas = new Map(raw.areas.map((a) => [a.name, a]));
  const cells = (
    x: SelfTime | undefined,
  ) => (x ? [x.us.toFixed(2), x.percent.toFixed(1)] : ["", ""]);
  const rows = (xs: SelfTime[]) => xs.map((x) => [`\`${x.name}\``, ...cells(x)]);
  return [
    head,
    "",
    "Extra runs, not part of P1n (profiling slows servers: " +
    `lameduck ${int(ld.requestsPerSec)} req/s, raw ${int(raw.requestsPerSec)} req/s here). ` +
    "Self CPU time of the main thread during the measured wrk run only (startup, warm-up and " +
    "shutdown cut off), in µs per request (comparable between the two) and as a share of the " +
    "non-idle time. Native frames such as `writev` include the system call, which on loopback " +
    `also runs wrk's side of TCP. CPU per request: lameduck ${ld.usPerRequest.toFixed(1)} µs, ` +
    `raw node:http ${raw.usPerRequest.toFixed(1)} µs. Raw profiles: \`${ld.file}\`, ` +
    `\`${raw.file}\` (git-ignored; open them in Chrome DevTools).`,
    "",
    commands([ld.command, raw.command, p.wrkCommand], "profile"),
    "",
    table(
      ["area", "lameduck µs/req", "lameduck %", "raw µs/req", "raw %"],
      ld.areas.map((a) => [a.name, ...cells(a), ...cells(rawAreas.get(a.name))]),
    ),
    "",
    "lameduck, top functions by self time:",
    "",
    table(["function (file:line)", "µs/req", "%"], rows(ld.functions)),
    "",
    "lameduck, top files:",
    "",
    table(["file", "µs/req", "%"], rows(ld.files)),
    "",
    "raw node:http, top functions (for comparison):",
    "",
    table(["function (file:line)", "µs/req", "%"], rows(raw.functions.slice(0, 12))),
  ].join("\n");
}
