/**
 * P3: drain under load. 32 pooled keep-alive clients at full speed; SIGTERM mid-run; the load
 * goes on until the process exits (or `boundMs` after the signal, when the clients stop).
 * lameduck without and with a lame-duck window, and the bare runtime's graceful primitive
 * (`BENCH_GRACEFUL=1` in bench/servers/bare.ts), interleaved round by round.
 *
 * @module
 */

import { type LoadStats, startLoad } from "../load.ts";
import { commandOf, now, type Runtime, sleep, startServer } from "../proc.ts";
import { rotate } from "../stats.ts";

/** Settings of P3. */
export interface DrainConfig {
  rounds: number;
  runtimes: readonly Runtime[];
  connections: number;
  /** Load before the signal. */
  beforeMs: number;
  /** `lameDuck` of the lame-duck variant. */
  lameDuckMs: number;
  /** After the signal, stop the load at this point if the process is still there. */
  boundMs: number;
  /** Pause before retrying a refused connect. */
  retryMs: number;
}

/** One server setup of P3. */
export interface DrainVariant {
  id: string;
  label: string;
  script: string;
  env: Record<string, string>;
}

/** The variants run on `runtime`. */
export function drainVariants(runtime: Runtime, lameDuckMs: number): DrainVariant[] {
  const bare = {
    deno: "Deno.serve shutdown()",
    bun: "Bun.serve stop()",
    node: "node:http close()",
  };
  return [
    {
      id: "bare",
      label: bare[runtime],
      script: "bench/servers/bare.ts",
      env: { BENCH_GRACEFUL: "1" },
    },
    {
      id: "lameduck",
      label: "lameduck, lameDuck 0",
      script: "bench/servers/lameduck.ts",
      env: { BENCH_LAME_DUCK_MS: "0" },
    },
    {
      id: "lameduck-window",
      label: `lameduck, lameDuck ${lameDuckMs} ms`,
      script: "bench/servers/lameduck.ts",
      env: { BENCH_LAME_DUCK_MS: String(lameDuckMs) },
    },
  ];
}

/** One P3 run. */
export interface DrainRun extends LoadStats {
  /** SIGTERM to process exit; `NaN` if it did not exit. */
  exitMs: number;
  exitCode: number | null;
  /** The load was stopped at `boundMs` before the process exited. */
  bounded: boolean;
}

/** The raw results: `runs["node/bare"]` holds one run per round. */
export interface DrainResults {
  runs: Record<string, DrainRun[]>;
  commands: Record<string, string>;
  labels: Record<string, string>;
  config: DrainConfig;
}

/** The settings one drain run uses. */
export type DrainRunConfig = Pick<DrainConfig, "connections" | "beforeMs" | "boundMs" | "retryMs">;

/** One drain run of `v` on `runtime`: the load, SIGTERM after `beforeMs`, until the exit. */
export async function drainOnce(
  runtime: Runtime,
  v: DrainVariant,
  c: DrainRunConfig,
): Promise<DrainRun> {
  const server = await startServer(runtime, v.script, { env: v.env });
  const load = startLoad(server.port, c.connections, c.retryMs);
  await sleep(c.beforeMs);
  const signalAt = server.kill("SIGTERM");
  load.markSignal(signalAt);
  let bounded = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<"bound">((r) => (timer = setTimeout(() => r("bound"), c.boundMs)));
  const first = await Promise.race([server.exited, bound]);
  clearTimeout(timer);
  if (first === "bound") bounded = true;
  else load.markExited();
  await load.stop();
  let exit = await Promise.race([server.exited, sleep(15_000).then(() => undefined)]);
  if (exit === undefined) {
    server.kill("SIGKILL");
    exit = await server.exited;
  }
  const exitMs = exit.signal === "SIGKILL" ? NaN : exit.at - signalAt;
  return { ...load.stats, exitMs: Math.round(exitMs), exitCode: exit.code, bounded };
}

/** Runs P3. */
export async function runDrain(
  config: DrainConfig,
  progress: (line: string) => void,
): Promise<DrainResults> {
  const runs: Record<string, DrainRun[]> = {};
  const commands: Record<string, string> = {};
  const labels: Record<string, string> = {};
  for (const runtime of config.runtimes) {
    for (const v of drainVariants(runtime, config.lameDuckMs)) {
      const id = `${runtime}/${v.id}`;
      runs[id] = [];
      labels[id] = v.label;
      const env = Object.entries(v.env).map(([k, x]) => `${k}=${x} `).join("");
      commands[id] = env + commandOf(runtime, v.script).join(" ");
    }
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const runtime of config.runtimes) {
      for (const v of rotate(drainVariants(runtime, config.lameDuckMs), round)) {
        const id = `${runtime}/${v.id}`;
        const t = now();
        try {
          const run = await drainOnce(runtime, v, config);
          runs[id]!.push(run);
          progress(
            `P3 round ${round + 1}: ${id} failed established ${run.failedEstablished}, new ` +
              `${run.failedNew}, refused ${run.refused}, ok after ${run.okAfter}, exit ` +
              `${run.bounded ? "after load stopped, " : ""}${run.exitMs} ms ` +
              `(${Math.round(now() - t)} ms)`,
          );
        } catch (error) {
          progress(`P3 round ${round + 1}: ${id} failed: ${error}`);
        }
      }
    }
  }
  return { runs, commands, labels, config };
}
