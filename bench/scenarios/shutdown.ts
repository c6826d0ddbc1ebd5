/**
 * P2: shutdown latency with idle keep-alive connections. `connections` clients each complete
 * one request and stay connected, and one more connects and never sends a byte (a silent
 * connection, opened as the others went idle); then SIGTERM; the time until the process exits,
 * for lameduck (defaults: `lameDuck` 0) and the bare runtime's graceful primitive run by a
 * SIGTERM handler.
 *
 * @module
 */

import { Connection } from "../client.ts";
import { commandOf, now, type Runtime, sleep, startServer } from "../proc.ts";
import { rotate } from "../stats.ts";

/** Settings of P2. */
export interface ShutdownConfig {
  rounds: number;
  runtimes: readonly Runtime[];
  connections: number;
  /** Idle time between the last response and the signal. */
  idleMs: number;
}

/** One P2 run. */
export interface ShutdownRun {
  /** SIGTERM to process exit. */
  exitMs: number;
  exitCode: number | null;
}

/** The raw results: `runs["deno/lameduck"]` holds one run per round. */
export interface ShutdownResults {
  runs: Record<string, ShutdownRun[]>;
  commands: Record<string, string>;
  config: ShutdownConfig;
}

const VARIANTS = [
  { id: "bare", script: "bench/servers/bare.ts", env: { BENCH_GRACEFUL: "1" } },
  { id: "lameduck", script: "bench/servers/lameduck.ts", env: {} },
] as const;

async function shutdownOnce(
  runtime: Runtime,
  variant: (typeof VARIANTS)[number],
  config: ShutdownConfig,
): Promise<ShutdownRun> {
  const server = await startServer(runtime, variant.script, { env: { ...variant.env } });
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < config.connections; i++) {
      conns.push(await Connection.connect(server.port));
    }
    await Promise.all(conns.map((c) => c.get(5_000)));
    conns.push(await Connection.connect(server.port)); // silent: never sends a byte
  } catch (error) {
    server.kill("SIGKILL");
    for (const c of conns) c.destroy();
    throw error;
  }
  await sleep(config.idleMs);
  const signalAt = server.kill("SIGTERM");
  const exit = await Promise.race([server.exited, sleep(15_000).then(() => undefined)]);
  for (const c of conns) c.destroy();
  if (exit === undefined) {
    server.kill("SIGKILL");
    await server.exited;
    return { exitMs: NaN, exitCode: null };
  }
  return { exitMs: exit.at - signalAt, exitCode: exit.code };
}

/** Runs P2. */
export async function runShutdown(
  config: ShutdownConfig,
  progress: (line: string) => void,
): Promise<ShutdownResults> {
  const runs: Record<string, ShutdownRun[]> = {};
  const commands: Record<string, string> = {};
  for (const runtime of config.runtimes) {
    for (const v of VARIANTS) {
      runs[`${runtime}/${v.id}`] = [];
      const env = Object.entries(v.env).map(([k, x]) => `${k}=${x} `).join("");
      commands[`${runtime}/${v.id}`] = env + commandOf(runtime, v.script).join(" ");
    }
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const runtime of config.runtimes) {
      for (const v of rotate(VARIANTS, round)) {
        const id = `${runtime}/${v.id}`;
        const t = now();
        try {
          const run = await shutdownOnce(runtime, v, config);
          runs[id]!.push(run);
          progress(
            `P2 round ${round + 1}: ${id} exit after ${run.exitMs.toFixed(1)} ms (code ` +
              `${run.exitCode}) (${Math.round(now() - t)} ms)`,
          );
        } catch (error) {
          progress(`P2 round ${round + 1}: ${id} failed: ${error}`);
          runs[id]!.push({ exitMs: NaN, exitCode: null }); // Keeps the rounds paired.
        }
      }
    }
  }
  return { runs, commands, config };
}
