/**
 * P6 and P7: requests per second through `lameduck run`. P6: each hand-over mode / the same
 * lameduck server started directly; P7: `--workers 2` / one worker in the mode that serves
 * natively (`reuseport` on Deno and Bun, `fd` on Node). wrk on 50 keep-alive connections to the
 * hello route, A/B interleaved: every round starts each setup once, in an order rotated round by
 * round.
 *
 * `reuseport` runs with `--force`: the machine's `net.ipv4.tcp_migrate_req` matters for restarts,
 * not for serving, and the benchmark does not change it.
 *
 * @module
 */

import {
  commandOf,
  now,
  processCpuUs,
  type Runtime,
  type Server,
  sleep,
  spawnChild,
  startServer,
  stopServer,
} from "../proc.ts";
import { rotate } from "../stats.ts";
import { runWrk, wrkArgs } from "../wrk.ts";

const SCRIPT = "bench/servers/lameduck.ts";

/** One way of running the server. */
export interface Setup {
  /**
   * Key in the results: `direct`, `fd`, `fd-globals` (Deno and Bun: `fd` with
   * `overrideGlobals: true`), `reuseport`, `fd-2`, `reuseport-2`.
   */
  id: string;
  /** `lameduck run` options; `undefined`: started directly. */
  args?: string[];
  /** Extra environment of the server. */
  env?: Record<string, string>;
}

/** The setups measured on `runtime`. */
export function setupsFor(runtime: Runtime): Setup[] {
  const native = runtime === "node" ? "fd" : "reuseport";
  const force = (mode: string) => mode === "reuseport" ? ["--force"] : [];
  return [
    { id: "direct" },
    { id: "fd", args: ["--handover", "fd"] },
    ...(runtime === "node" ? [] : [{
      id: "fd-globals",
      args: ["--handover", "fd"],
      env: { BENCH_OVERRIDE_GLOBALS: "1" },
    }]),
    { id: "reuseport", args: ["--handover", "reuseport", "--force"] },
    { id: `${native}-2`, args: ["--handover", native, ...force(native), "--workers", "2"] },
  ];
}

/** Settings. */
export interface SupervisedConfig {
  wrk: string;
  rounds: number;
  runtimes: readonly Runtime[];
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

/** `series[runtime][setupId]`: req/s per round; `cpuUs`: the same for CPU µs per request. */
export interface SupervisedResults {
  series: Record<string, Record<string, number[]>>;
  /**
   * CPU time per request of the server's processes (the supervisor and its workers, or the
   * server started directly), in µs: less disturbed by other load on the machine than req/s.
   */
  cpuUs?: Record<string, Record<string, number[]>>;
  commands: Record<string, string>;
  wrkCommand: string;
  config: Omit<SupervisedConfig, "wrk">;
}

/** A server through `lameduck run`, with the PIDs of its workers. */
export type Supervised = Server & { workers: number[] };

/**
 * Starts `lameduck run <args> -- <script on runtime>`; resolves once every worker is ready. Its
 * `stderr()` is the supervisor's log.
 */
export async function startSupervised(
  runtime: Runtime,
  args: string[],
  env: Record<string, string> = {},
  script: string = SCRIPT,
): Promise<Supervised> {
  const workers = Number(/--workers (\d+)/.exec(args.join(" "))?.[1] ?? "1");
  const deno = runtime === "deno" && args.includes("reuseport") ? ["--unstable-net"] : [];
  const argv = [
    "node_modules/.bin/node",
    "src/supervisor/cli.ts",
    "run",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    ...args,
    "--",
    ...commandOf(runtime, script, deno),
  ];
  const child = spawnChild(argv, env);
  child.stdout!.resume();
  let log = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => (log = (log + s).slice(-64_000)));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>(
    (resolve) => child.once("exit", (code, signal) => resolve({ code, signal, at: now() })),
  );
  const started = now();
  while ((log.match(/ready after/g) ?? []).length < workers) {
    if (child.exitCode !== null || now() - started > 20_000) {
      child.kill("SIGKILL");
      throw new Error(`${argv.join(" ")}: not ready\n${log}`);
    }
    await sleep(25);
  }
  return {
    pid: child.pid!,
    workers: [...log.matchAll(/worker \d+ started \(pid (\d+)\)/g)].map((m) => Number(m[1])),
    port: Number(/ socket 127\.0\.0\.1:(\d+) /.exec(log)![1]),
    command: argv.join(" "),
    exited,
    kill: (signal) => {
      const at = now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return at;
    },
    stderr: () => log,
  };
}

/** Runs P6/P7. */
export async function runSupervised(
  config: SupervisedConfig,
  progress: (line: string) => void,
): Promise<SupervisedResults> {
  const series: Record<string, Record<string, number[]>> = {};
  const cpuUs: Record<string, Record<string, number[]>> = {};
  const commands: Record<string, string> = {};
  for (const runtime of config.runtimes) {
    series[runtime] = {};
    cpuUs[runtime] = {};
    for (const setup of setupsFor(runtime)) {
      series[runtime]![setup.id] = [];
      cpuUs[runtime]![setup.id] = [];
      const server = commandOf(runtime, SCRIPT).join(" ");
      const env = Object.entries(setup.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
      commands[`${runtime}/${setup.id}`] = setup.args
        ? `${env}node src/supervisor/cli.ts run --port 0 ${setup.args.join(" ")} -- ${server}`
        : `${env}${server}`;
    }
  }
  for (let round = 0; round < config.rounds; round++) {
    for (const runtime of config.runtimes) {
      for (const setup of rotate(setupsFor(runtime), round)) {
        const samples = series[runtime]![setup.id]!;
        const cpuSamples = cpuUs[runtime]![setup.id]!;
        try {
          const server: Server & { workers?: number[] } = setup.args
            ? await startSupervised(runtime, setup.args, setup.env)
            : await startServer(runtime, SCRIPT);
          try {
            const pids = [server.pid, ...(server.workers ?? [])];
            const cpu = () => pids.reduce((sum, pid) => sum + processCpuUs(pid), 0);
            const warm = wrkArgs(server.port, "/", config.warmupSeconds, config.connections);
            await runWrk(config.wrk, warm);
            const args = wrkArgs(server.port, "/", config.seconds, config.connections);
            const before = cpu();
            const result = await runWrk(config.wrk, args);
            const perRequest = result.requests > 0 ? (cpu() - before) / result.requests : NaN;
            samples.push(result.requestsPerSec);
            cpuSamples.push(perRequest);
            progress(
              `P6/P7 round ${round + 1}: ${runtime} ${setup.id} ` +
                `${Math.round(result.requestsPerSec)} req/s, ${perRequest.toFixed(1)} µs CPU/req`,
            );
          } finally {
            await stopServer(server, 5_000);
          }
        } catch (error) {
          progress(`P6/P7 round ${round + 1}: ${runtime} ${setup.id} failed: ${error}`);
          samples.push(NaN);
          cpuSamples.push(NaN);
        }
      }
    }
  }
  const { wrk: _, ...rest } = config;
  return {
    series,
    cpuUs,
    commands,
    wrkCommand: `wrk -t1 -c${config.connections} -d${config.seconds}s http://127.0.0.1:$PORT/`,
    config: rest,
  };
}
