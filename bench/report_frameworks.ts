/**
 * RESULTS.md sections for the frameworks on Node: F1 (Express, Fastify, Koa through lameduck /
 * their own `listen`), F2 (the shutdown cases against other graceful-shutdown libraries) and
 * F3 (restarts: `lameduck run --workers 2` / `pm2 reload`).
 *
 * @module
 */

import { commands, table } from "./markdown.ts";
import type { FrameworksResults } from "./scenarios/frameworks.ts";
import { type PeerExit, PEERS, type PeersResults } from "./scenarios/peers.ts";
import { RESTARTERS, type RestartsResults } from "./scenarios/restarts.ts";
import { FRAMEWORKS } from "./servers/framework_apps.ts";
import { median, ratios, ratioSpan, span, summarize, verdict } from "./stats.ts";

/** As shown in the tables: verdicts follow the printed value. */
const round2 = (x: number): number => Math.round(x * 100) / 100;
const ms = (x: number): string => `${Math.round(x)}`;
const micro = (x: number): string => x.toFixed(1);
const roundsText = (n: number): string => (n === 1 ? "1 round" : `${n} rounds`);

const OWN: Record<string, string> = {
  express: "Express `app.listen`",
  fastify: "Fastify `app.listen`",
  koa: "Koa `app.listen`",
};
const LISTENER: Record<string, string> = {
  express: "`listener: app`",
  fastify: "`listener: app.routing` after `await app.ready()`",
  koa: "`listener: app.callback()`",
};

/** F1: lameduck / own listen, per framework. */
export function f1Section(t: FrameworksResults): string {
  const rows = FRAMEWORKS.map((f) => {
    const ld = t.series[`${f}/lameduck`];
    const own = t.series[`${f}/listen`];
    const rps = ratios(ld?.rps ?? [], own?.rps ?? []);
    const cpu = ratios(own?.cpuUs ?? [], ld?.cpuUs ?? []);
    return [
      f,
      LISTENER[f]!,
      `**${ratioSpan(rps)}**`,
      verdict(round2(rps.median) >= 0.97),
      `**${ratioSpan(cpu)}**`,
      verdict(round2(cpu.median) >= 0.97),
      `${OWN[f]} ${span(summarize(own?.rps ?? []))}`,
      `lameduck ${span(summarize(ld?.rps ?? []))}`,
      `${span(summarize(own?.cpuUs ?? []), micro)} → ${span(summarize(ld?.cpuUs ?? []), micro)}`,
    ];
  });
  const bad = Object.entries(t.series).filter(([, s]) => s.errors.some((e) => e !== 0))
    .map(([id, s]) => `${id}: ${s.errors.join("/")}`);
  return [
    "## F1: Express, Fastify and Koa through lameduck (Node)",
    "",
    "The same app object (`bench/servers/framework_apps.ts`: `GET /` answers `hello world` " +
    "the framework's usual way) served by lameduck's `serve({ listener })` with its defaults " +
    "and by the framework's own `listen`, in the same round (the six servers interleaved, the " +
    `order rotated round by round; ${
      roundsText(t.config.rounds)
    }). req/s ratio = lameduck / own \`listen\`; CPU ratio = own / lameduck of the ` +
    "server's CPU time per request (all threads, /proc; steadier than req/s on a shared " +
    "machine; ≥ 1 means lameduck costs no more). Median of the rounds (min–max). Target ≥ 0.97 " +
    `for both. Versions: ${t.versions}.`,
    "",
    commands([
      ...FRAMEWORKS.flatMap((f) => [t.commands[`${f}/listen`]!, t.commands[`${f}/lameduck`]!]),
      `${t.wrkCommand}   # after ${t.config.warmupSeconds} s of unmeasured warm-up`,
    ], "frameworks"),
    "",
    table(
      [
        "framework",
        "lameduck serves",
        "req/s, lameduck / own",
        "target ≥ 0.97",
        "CPU/request, own / lameduck",
        "target ≥ 0.97",
        "own req/s",
        "lameduck req/s",
        "server CPU µs/request, own → lameduck",
      ],
      rows,
    ),
    "",
    bad.length ? `wrk reported errors: ${bad.join("; ")}.` : "wrk reported no errors.",
  ].join("\n");
}

const exitText = (runs: PeerExit[]): string => {
  const values = runs.map((r) => r.exitMs);
  const timing = values.some(Number.isFinite) ? `${span(summarize(values), ms)} ms` : "";
  const killed = runs.filter((r) => r.exit === "SIGKILL").length;
  const codes = [...new Set(runs.filter((r) => r.exit !== "SIGKILL").map((r) => r.exit))];
  return [
    timing,
    codes.length ? `exit ${codes.join(", ")}` : "",
    killed ? `**${killed}/${runs.length} not exited, SIGKILLed**` : "",
  ].filter((x) => x !== "").join("; ");
};

/** F2: the shutdown cases, per peer. */
export function f2Section(p: PeersResults): string {
  const c = p.config;
  const rows = PEERS.map(({ id, label }) => {
    const r = p.runs[id]!;
    const done = r.inflight.filter((x) => x.outcome === "200").length;
    const outcomes = [...new Set(r.inflight.map((x) => x.outcome))].join(", ");
    const told = r.inflight.filter((x) => x.outcome === "200" && x.toldClose).length;
    const failed = r.load.map((x) => x.failedEstablished + x.failedNew);
    const refused = r.load.reduce((a, x) => a + x.refused, 0);
    const kinds: Record<string, number> = {};
    for (const x of r.load) {
      for (const [k, v] of Object.entries(x.failures)) kinds[k] = (kinds[k] ?? 0) + v;
    }
    const kindText = Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(", ");
    return [
      label,
      `${done}/${r.inflight.length} completed${
        done < r.inflight.length ? ` (${outcomes})` : ""
      }, ${told}/${done} with \`Connection: close\`; ` +
      exitText(r.inflight),
      exitText(r.idle),
      `${exitText(r.deaf)}; client saw ${[...new Set(r.deaf.map((x) => x.outcome))].join(", ")}`,
      `**${failed.reduce((a, b) => a + b, 0)}** (${failed.join(", ")})` +
      `${kindText ? `: ${kindText}` : ""}; refused ${refused}; ` +
      exitText(r.load.map((x) => ({ exitMs: x.exitMs, exit: String(x.exitCode ?? "by signal") }))),
    ];
  });
  return [
    "## F2: shutting down, against other graceful-shutdown libraries (Node)",
    "",
    "The same Express app (`bench/servers/framework_apps.ts`) behind each library, used as its " +
    `README shows, with its defaults except the deadline: ${c.deadlineMs} ms wherever the ` +
    "library offers one (lameduck `drainTimeout`, http-terminator `gracefulTerminationTimeout`, " +
    "terminus `timeout`, stoppable's `grace`, close-with-grace `delay`; Fastify's `close()` has " +
    "none). Where the library installs no signal handler, a SIGTERM handler calls it and exits " +
    "when it resolves (bench/servers/express_peers.ts says how, per library). Each case on a " +
    `freshly started server; ${
      roundsText(median(Object.values(p.runs).map((r) => r.idle.length)))
    }, ` +
    "peers rotated. Times from the driver's SIGTERM to the exit it sees, in ms: median " +
    `(min–max). A process still there ${c.killAfterMs} ms after the signal is SIGKILLed. ` +
    '"exit SIGTERM": ended by the signal, which terminus re-raises when done (its default). ' +
    `Versions: ${p.versions}.`,
    "",
    `- **In flight**: \`GET /slow?ms=${c.slowMs}\`, SIGTERM ${c.signalAfterMs} ms after it was ` +
    "sent: completed with `200`? Did its response say `Connection: close` (else the client " +
    "may reuse a connection the server is about to close)?",
    `- **Idle keep-alive**: ${c.idleConnections} connections completed a request each and sat ` +
    `idle ${c.idleMs} ms, next to one silent connection (P2's case). lameduck gives a ` +
    "connection that has not sent its first request 250 ms from its accept before closing it " +
    "(a request in transit is not reset); the others close it at once or never.",
    `- **Deaf handler**: \`GET /deaf\` never answers; SIGTERM ${c.signalAfterMs} ms after it: ` +
    `exit time and code at the ${c.deadlineMs} ms deadline.`,
    `- **Load balancer**: P3's load, ${c.connections} pooled keep-alive clients at full speed ` +
    `(bench/load.ts), SIGTERM after ${c.beforeMs} ms; failed requests over the rounds (each ` +
    "round), by kind; refused connects; exit.",
    "",
    commands(PEERS.map(({ id }) => p.commands[id]!), "peers"),
    "",
    table(
      ["server", "in flight at SIGTERM", "idle keep-alive → exit", "deaf handler", "under load"],
      rows,
    ),
  ].join("\n");
}

/** F3: restarts. */
export function f3Section(r: RestartsResults): string {
  const c = r.config;
  const labels = {
    lameduck: "`lameduck run --workers 2` (SIGHUP)",
    pm2: "`pm2 reload`, cluster ×2",
  };
  const rows = RESTARTERS.map((side) => {
    const runs = r.runs[side] ?? [];
    const failed = runs.map((x) => Object.values(x.failed).reduce((a, b) => a + b, 0));
    const kinds: Record<string, number> = {};
    for (const x of runs) {
      for (const [k, v] of Object.entries(x.kinds)) kinds[k] = (kinds[k] ?? 0) + v;
    }
    const perKind = (k: "new connection per request" | "pooled keep-alive") =>
      runs.map((x) => x.failed[k]).join(", ") || "n/a";
    return [
      labels[side],
      `**${span(summarize(failed))}**`,
      perKind("new connection per request"),
      perKind("pooled keep-alive"),
      Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(", ") || "none",
      span(summarize(runs.map((x) => x.requests))),
      span(summarize(runs.flatMap((x) => x.restartMs)), ms),
      runs.map((x) => x.pids).join(", ") || "n/a",
    ];
  });
  return [
    `## F3: ${c.restarts} restarts under load, \`lameduck run\` / PM2 (Node)`,
    "",
    "The same Express app (`bench/servers/framework.ts`) on both sides: under `lameduck run " +
    "--workers 2` (its default hand-over, `fd` on Node) as `serve({ listener: app })` with " +
    "lameduck's defaults, restarted by SIGHUP; " +
    "under PM2's cluster mode with 2 instances as `app.listen(PORT)` with " +
    '`process.send("ready")` and `server.close()` on SIGINT (PM2\'s `wait_ready`, otherwise ' +
    `its defaults), restarted by \`pm2 reload\`. Load: the restart proof's (tests/supervisor/` +
    `load.ts), ${c.clientsPerKind} clients opening a new connection per request and ` +
    `${c.clientsPerKind} keeping one pooled keep-alive connection each, every 8th request ` +
    `${c.slowMs} ms slow; ${c.restarts} restarts, each once the previous one is done, ` +
    `${c.pauseMs} ms apart. ${
      roundsText(median(RESTARTERS.map((s) => r.runs[s]?.length ?? 0)))
    }, ` +
    "the sides alternating. Failed requests per run (median, min–max), per client kind for " +
    "each run, and by error over all runs; restart time is the command (signal / `pm2 " +
    "reload`, which includes the start of PM2's CLI) to done, over every restart. PM2 runs with its own `PM2_HOME` (a temporary " +
    `folder); its daemon is killed at the end. Versions: ${r.versions}.`,
    "",
    commands([r.commands.lameduck!, r.commands.pm2!], "pm2"),
    "",
    table(
      [
        "restarted by",
        `failed requests per ${c.restarts} restarts`,
        "new connection per request (each run)",
        "pooled keep-alive (each run)",
        "errors (all runs)",
        "requests per run",
        "restart ms",
        "PIDs that answered (each run)",
      ],
      rows,
    ),
  ].join("\n");
}
