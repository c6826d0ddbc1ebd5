/**
 * `npm run demo`: what SIGTERM under load does to a server, on Deno, Bun and Node, with
 * lameduck (`examples/fetch.ts`) and without (the bare runtime server, `scripts/demo/naive.ts`).
 *
 *     node scripts/demo.ts [--quick] [--connections=N] [--lame-duck=MS] [--think=MS]
 *
 * For each runtime and server: start it, drive pooled keep-alive load, send SIGTERM mid-load,
 * keep the load going until the process is gone, and record what the client and lameduck saw.
 * Then the restart table: the example restarted under the same load through `lameduck run
 * --workers 2`, and naively (stop it, start it again on the same port). Prints both tables on
 * stdout (progress goes to stderr, one line per phase). `LAMEDUCK_RUNTIMES`
 * (comma list) picks runtimes. Exits 0 when every lameduck row lost no request and exited 0
 * and every `lameduck run` row lost none, 1 when one did not, 2 when the demo itself could not
 * run.
 *
 * @module
 */

import process from "node:process";
import { type RuntimeName, selectedRuntimes } from "../tests/contract/runtimes.ts";
import { failedCount, now, startLoad } from "./demo/client.ts";
import { within } from "../tests/shared/time.ts";
import { type ServerKind, startServer } from "./demo/process.ts";
import { definitions, renderTable, type Row } from "./demo/table.ts";
import { renderRestartTable, type RestartRow, restartRow } from "./demo/restart.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid --${name}: expected a non-negative number, got ${arg}`);
  }
  return value;
}

const quick = process.argv.includes("--quick") || process.env.DEMO_QUICK === "1";
const config = {
  connections: flag("connections", quick ? 16 : 24),
  warmupMs: quick ? 600 : 1_500,
  lameDuckMs: flag("lame-duck", 1_000),
  thinkMs: flag("think", 0),
  readiness: !process.argv.includes("--direct"),
  restarts: flag("restarts", quick ? 2 : 5),
  exitTimeoutMs: 15_000,
};

const started = now();
function progress(message: string): void {
  const at = ((now() - started) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[demo ${at} s] ${message}\n`);
}

/** `[4, 5, 9]` → `"4-9 ms"`. */
function span(ms: number[]): string {
  const lo = Math.min(...ms);
  const hi = Math.max(...ms);
  return lo === hi ? `${lo} ms` : `${lo}-${hi} ms`;
}

/** One row: start `kind` on `runtime`, load it, SIGTERM it mid-load, wait until it is gone. */
async function run(runtime: RuntimeName, kind: ServerKind): Promise<Row> {
  const label = `${runtime} ${kind}`;
  const t = now();
  const server = await startServer(runtime, kind, { LAME_DUCK_MS: String(config.lameDuckMs) });
  const startMs = Math.round(now() - t);
  progress(`${label}: pid ${server.pid} listening on port ${server.port} after ${startMs} ms`);

  const { connections, thinkMs, readiness } = config;
  const load = startLoad({ port: server.port, connections, thinkMs, retryMs: 20, readiness });
  const stats = load.stats;
  await sleep(config.warmupMs);
  load.markSignal();
  const signalAt = server.kill("SIGTERM");
  progress(
    `${label}: SIGTERM sent; ${stats.ok} requests done, ${stats.inFlightAtSignal} in flight`,
  );

  let ended = await within(server.exited, config.exitTimeoutMs, "the server to exit").catch(
    () => undefined,
  );
  let how: string;
  if (ended === undefined) {
    server.kill("SIGKILL");
    ended = await server.exited;
    how = "killed after timeout";
  } else {
    how = ended.signal ?? `exit ${ended.code}`;
  }
  await load.stop();
  const exitMs = Math.round(ended.at - signalAt);

  const failed = failedCount(stats);
  const causes = Object.entries(stats.failed).map(([k, v]) => `${v} ${k}`).join(", ");
  const when = stats.failedMsAfterSignal.length > 0
    ? `, ${span(stats.failedMsAfterSignal)} after SIGTERM`
    : "";
  progress(
    `${label}: ${ended.signal ? `killed by ${ended.signal}` : how} ${exitMs} ms after SIGTERM. ` +
      `Client: ${stats.okAfterSignal} ok after SIGTERM (${stats.toldClose} said ` +
      `Connection: close), ${failed} failed${causes ? ` (${causes}${when})` : ""}, ` +
      `${stats.refused} connects refused` +
      (readiness ? `, ${stats.rerouted} connections rerouted after /readyz failed` : ""),
  );
  if (kind === "lameduck" && how !== "exit 0") {
    progress(`${label}: stderr tail:\n${server.stderr()}`);
  }

  if (kind === "naive") {
    return {
      runtime,
      server: kind,
      inFlight: stats.inFlightAtSignal,
      completed: stats.okAfterSignal,
      aborted: stats.inFlightAtSignal - stats.inFlightCompleted,
      failed,
      exitMs,
      ended: how,
    };
  }
  const draining = server.events.find((e) => e.type === "draining");
  const closed = server.events.find((e) => e.type === "closed");
  const report = closed?.report as { completed: number; aborted: number } | undefined;
  return {
    runtime,
    server: kind,
    inFlight: draining?.inFlight as number | undefined,
    completed: report?.completed,
    aborted: report?.aborted,
    failed,
    exitMs,
    ended: how,
  };
}

async function main(): Promise<number> {
  const runtimes = selectedRuntimes() as RuntimeName[];
  progress(
    `${runtimes.join(", ")}; lameduck and naive; ${config.connections} connections, ` +
      `SIGTERM after ${config.warmupMs} ms of load, lameDuck ${config.lameDuckMs} ms` +
      (quick ? " (quick)" : ""),
  );
  const rows: Row[] = [];
  for (const runtime of runtimes) {
    for (const kind of ["lameduck", "naive"] as const) rows.push(await run(runtime, kind));
  }
  console.log(`\n${renderTable(rows)}\n\n${definitions(config)}`);
  const restarts: RestartRow[] = [];
  if (config.restarts > 0) {
    for (const runtime of runtimes) {
      for (const how of ["lameduck run", "naive"] as const) {
        progress(`${runtime} ${how}: ${config.restarts} restarts under load`);
        const row = await restartRow(runtime, how, {
          connections: config.connections,
          restarts: config.restarts,
          warmupMs: config.warmupMs,
          lameDuckMs: config.lameDuckMs,
        }, progress);
        progress(
          `${runtime} ${how}: ${row.ok} ok, ${row.failed} failed, ${row.refused} connects refused`,
        );
        restarts.push(row);
      }
    }
    console.log(
      `\n${renderRestartTable(restarts)}\n\n` +
        `Restarts: examples/fetch.ts (lameDuck ${config.lameDuckMs} ms) under the same clients\n` +
        "(no readiness checks: one host, no balancer), through `lameduck run --workers 2`\n" +
        '(defaults otherwise; SIGHUP, wait for "restart done") and naively (SIGTERM, wait for\n' +
        "the exit, start it again on the same port). Refused connects are retried by the\n" +
        "client; failed: sent and not answered. ms: the restarts' wall time.",
    );
  }
  const lameduck = rows.filter((r) => r.server === "lameduck");
  const clean = lameduck.every((r) => r.failed === 0 && r.ended === "exit 0") &&
    restarts.every((r) => r.how === "naive" || r.failed === 0);
  progress(
    clean
      ? "lameduck lost no request and exited 0 on every runtime"
      : "lameduck lost requests or did not exit 0 somewhere: see the table",
  );
  return clean ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
