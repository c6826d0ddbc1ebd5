/**
 * F1: requests per second of Express, Fastify and Koa on Node, each app served through lameduck
 * (`serve({ listener })`) and by the framework's own `listen`, the same app on both sides
 * (`bench/servers/framework.ts`), with wrk on 50 keep-alive connections to `GET /` as in P1.
 * Every round starts each of the six servers once, in an order rotated round by round; ratios
 * are taken within a round. Also the server's CPU time per request.
 *
 * @module
 */

import { commandOf, packageVersions, processCpuUs, startServer, stopServer } from "../proc.ts";
import type { Series } from "./throughput.ts";
import { FRAMEWORKS } from "../servers/framework_apps.ts";
import { rotate } from "../stats.ts";
import { runWrk, wrkArgs } from "../wrk.ts";

const SCRIPT = "bench/servers/framework.ts";

/** The two ways each app is served. */
export const SIDES = ["lameduck", "listen"] as const;

/** Settings of F1. */
export interface FrameworksConfig {
  wrk: string;
  rounds: number;
  /** Measured seconds per wrk run. */
  seconds: number;
  /** Unmeasured wrk seconds after each server start. */
  warmupSeconds: number;
  connections: number;
}

/** The raw results: `series["express/lameduck"]`, one sample per round. */
export interface FrameworksResults {
  series: Record<string, Series>;
  commands: Record<string, string>;
  wrkCommand: string;
  /** The frameworks' versions, e.g. `express 5.3.0, ...`. */
  versions: string;
  config: Omit<FrameworksConfig, "wrk">;
}

const envOf = (framework: string, side: string) => ({
  BENCH_FRAMEWORK: framework,
  BENCH_SERVE: side,
});

/** Runs F1. */
export async function runFrameworks(
  config: FrameworksConfig,
  progress: (line: string) => void,
): Promise<FrameworksResults> {
  const specs = FRAMEWORKS.flatMap((framework) =>
    SIDES.map((side) => ({ id: `${framework}/${side}`, env: envOf(framework, side) }))
  );
  const series: Record<string, Series> = {};
  const commands: Record<string, string> = {};
  for (const s of specs) {
    series[s.id] = { rps: [], errors: [], cpuUs: [] };
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${v} `).join("");
    commands[s.id] = env + commandOf("node", SCRIPT).join(" ");
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const spec of rotate(specs, round)) {
      const s = series[spec.id]!;
      try {
        const server = await startServer("node", SCRIPT, { env: spec.env });
        try {
          await runWrk(config.wrk, wrkArgs(server.port, "/", config.warmupSeconds));
          const args = wrkArgs(server.port, "/", config.seconds, config.connections);
          const before = processCpuUs(server.pid);
          const result = await runWrk(config.wrk, args);
          const cpu = processCpuUs(server.pid) - before;
          s.rps.push(result.requestsPerSec);
          s.errors.push(result.errors);
          s.cpuUs.push(result.requests > 0 ? cpu / result.requests : NaN);
          progress(
            `F1 round ${round + 1}: ${spec.id} ${Math.round(result.requestsPerSec)} req/s, ` +
              `${s.cpuUs.at(-1)!.toFixed(1)} µs CPU/req` +
              (result.errors ? `, ${result.errors} errors` : ""),
          );
        } finally {
          await stopServer(server);
        }
      } catch (error) {
        progress(`F1 round ${round + 1}: ${spec.id} failed: ${error}`);
        s.rps.push(NaN); // Keeps the rounds paired.
        s.errors.push(NaN);
        s.cpuUs.push(NaN);
      }
    }
  }
  const { wrk: _, ...rest } = config;
  return {
    series,
    commands,
    wrkCommand: `wrk -t1 -c${config.connections} -d${config.seconds}s http://127.0.0.1:$PORT/`,
    versions: packageVersions(FRAMEWORKS),
    config: rest,
  };
}
