/**
 * The demo's restart table: `examples/fetch.ts` restarted N times under the demo's load, through
 * `lameduck run --workers 2` (default options otherwise), and naively (stop it, start it again
 * on the same port).
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { binaryOf, ROOT, type RuntimeName } from "../../tests/contract/runtimes.ts";
import { failedCount, now, startLoad } from "./client.ts";

/** One row of the restart table. */
export interface RestartRow {
  runtime: RuntimeName;
  how: "lameduck run" | "naive";
  restarts: number;
  /** Complete, correct responses. */
  ok: number;
  /** Requests sent that got no complete, correct response. */
  failed: number;
  /** Connects refused (the client retried them). */
  refused: number;
  /** Wall time of the restarts, in ms. */
  ms: number;
}

/** Settings. */
export interface RestartConfig {
  connections: number;
  restarts: number;
  warmupMs: number;
  lameDuckMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SCRIPT = join("examples", "fetch.ts");

function command(runtime: RuntimeName): string[] {
  return runtime === "deno" ? [binaryOf("deno"), "run", "-A", SCRIPT] : [binaryOf(runtime), SCRIPT];
}

/** Spawns `argv`; `wait(pattern)` resolves once stdout+stderr matched it `count` times. */
function spawnWatched(argv: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  process.once("exit", () => child.kill("SIGKILL"));
  let text = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (text += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (text += s));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const wait = async (pattern: RegExp, count = 1, ms = 20_000): Promise<RegExpMatchArray> => {
    const global = new RegExp(pattern.source, "g");
    const start = now();
    while ((text.match(global) ?? []).length < count) {
      if (now() - start > ms) throw new Error(`no ${pattern} within ${ms} ms:\n${text}`);
      await sleep(20);
    }
    return pattern.exec(text)!;
  };
  return { child, exited, wait, text: () => text };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Restarts `examples/fetch.ts` on `runtime` `config.restarts` times under load. */
export async function restartRow(
  runtime: RuntimeName,
  how: RestartRow["how"],
  config: RestartConfig,
  progress: (line: string) => void,
): Promise<RestartRow> {
  const env = { LAME_DUCK_MS: String(config.lameDuckMs), HOST: "127.0.0.1" };
  const load = (port: number) =>
    startLoad({
      port,
      connections: config.connections,
      thinkMs: 0,
      retryMs: 20,
      readiness: false,
    });
  let started: number;
  let stats: ReturnType<typeof load>["stats"];
  if (how === "lameduck run") {
    const sup = spawnWatched([
      binaryOf("node"),
      join("src", "supervisor", "cli.ts"),
      "run",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--workers",
      "2",
      "--",
      ...command(runtime),
    ], env);
    try {
      const port = Number((await sup.wait(/ socket 127\.0\.0\.1:(\d+) /))[1]);
      await sup.wait(/ready after/, 2);
      const running = load(port);
      stats = running.stats;
      await sleep(config.warmupMs);
      started = now();
      for (let i = 1; i <= config.restarts; i++) {
        sup.child.kill("SIGHUP");
        await sup.wait(/restart done|restart failed/, i, 30_000);
      }
      const ms = Math.round(now() - started);
      await sleep(200);
      await running.stop();
      sup.child.kill("SIGTERM");
      await sup.exited;
      const row = { runtime, how, restarts: config.restarts, ms };
      return { ...row, ok: stats.ok, failed: failedCount(stats), refused: stats.refused };
    } finally {
      sup.child.kill("SIGKILL");
    }
  }
  const port = await freePort();
  const start = async () => {
    const server = spawnWatched(command(runtime), { ...env, PORT: String(port) });
    await server.wait(/listening on/);
    return server;
  };
  let server = await start();
  try {
    const running = load(port);
    stats = running.stats;
    await sleep(config.warmupMs);
    started = now();
    for (let i = 1; i <= config.restarts; i++) {
      server.child.kill("SIGTERM");
      await server.exited;
      server = await start();
      progress(`${runtime} naive: restart ${i} done`);
    }
    const ms = Math.round(now() - started);
    await sleep(200);
    await running.stop();
    return {
      runtime,
      how,
      restarts: config.restarts,
      ok: stats.ok,
      failed: failedCount(stats),
      refused: stats.refused,
      ms,
    };
  } finally {
    server.child.kill("SIGTERM");
  }
}

/** The restart table, aligned like the shutdown table. */
export function renderRestartTable(rows: RestartRow[]): string {
  const head = [
    "runtime",
    "restart",
    "restarts",
    "requests ok",
    "failed",
    "connects refused",
    "ms",
  ];
  const cells = rows.map((r) => [
    r.runtime,
    r.how,
    String(r.restarts),
    String(r.ok),
    String(r.failed),
    String(r.refused),
    String(r.ms),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(" | ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map(line)].join("\n");
}
