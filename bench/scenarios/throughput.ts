/**
 * P1 and P1n: requests per second while serving, with wrk on 50 keep-alive connections, for
 * lameduck and the bare runtime server (and on Node, `@hono/node-server` and srvx), A/B
 * interleaved: every round starts each server once, in an order rotated round by round.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandOf, processCpuUs, type Runtime, startServer, stopServer } from "../proc.ts";
import { rotate } from "../stats.ts";
import { runWrk, wrkArgs } from "../wrk.ts";

/** One server program on one runtime. */
export interface ServerSpec {
  /** Key in the results, e.g. `"node/hono"`. */
  id: string;
  runtime: Runtime;
  /** What it is, for the tables. */
  label: string;
  script: string;
  /** Environment for the server, e.g. `BENCH_APP=hono` to serve the routes with a Hono app. */
  env?: Record<string, string>;
  /** Serve HTTPS with a certificate the run makes (wrk then speaks TLS). */
  tls?: boolean;
}

/** The TLS rows: the plain handler over HTTPS, lameduck and the bare server, per runtime. */
const TLS_SERVERS: ServerSpec[] = (["deno", "bun", "node"] as const).flatMap((runtime) => [
  {
    id: `${runtime}/lameduck-tls`,
    runtime,
    label: "lameduck, TLS",
    script: "bench/servers/lameduck.ts",
    tls: true,
  },
  {
    id: `${runtime}/bare-tls`,
    runtime,
    label: `${
      runtime === "node" ? "node:https" : runtime === "deno" ? "Deno.serve" : "Bun.serve"
    }, TLS`,
    script: "bench/servers/bare.ts",
    tls: true,
  },
]);

const HONO_APP = { BENCH_APP: "hono" };

/** Every server of P1/P1n, grouped by runtime. */
export const THROUGHPUT_SERVERS: readonly ServerSpec[] = [
  { id: "deno/lameduck", runtime: "deno", label: "lameduck", script: "bench/servers/lameduck.ts" },
  { id: "deno/bare", runtime: "deno", label: "Deno.serve", script: "bench/servers/bare.ts" },
  { id: "bun/lameduck", runtime: "bun", label: "lameduck", script: "bench/servers/lameduck.ts" },
  { id: "bun/bare", runtime: "bun", label: "Bun.serve", script: "bench/servers/bare.ts" },
  {
    id: "deno/lameduck-hono",
    runtime: "deno",
    label: "lameduck, Hono app",
    script: "bench/servers/lameduck.ts",
    env: HONO_APP,
  },
  {
    id: "deno/bare-hono",
    runtime: "deno",
    label: "Deno.serve, Hono app",
    script: "bench/servers/bare.ts",
    env: HONO_APP,
  },
  {
    id: "bun/lameduck-hono",
    runtime: "bun",
    label: "lameduck, Hono app",
    script: "bench/servers/lameduck.ts",
    env: HONO_APP,
  },
  {
    id: "bun/bare-hono",
    runtime: "bun",
    label: "Bun.serve, Hono app",
    script: "bench/servers/bare.ts",
    env: HONO_APP,
  },
  { id: "node/lameduck", runtime: "node", label: "lameduck", script: "bench/servers/lameduck.ts" },
  { id: "node/bare", runtime: "node", label: "node:http", script: "bench/servers/bare.ts" },
  {
    id: "node/hono",
    runtime: "node",
    label: "@hono/node-server",
    script: "bench/servers/hono_node.ts",
  },
  { id: "node/srvx", runtime: "node", label: "srvx", script: "bench/servers/srvx_node.ts" },
  {
    id: "node/lameduck-native",
    runtime: "node",
    label: "lameduck, overrideGlobals: false",
    script: "bench/servers/lameduck.ts",
    env: { BENCH_OVERRIDE_GLOBALS: "0" },
  },
  {
    id: "node/lameduck-app",
    runtime: "node",
    label: "lameduck, Hono app",
    script: "bench/servers/lameduck.ts",
    env: { BENCH_APP: "hono" },
  },
  {
    id: "node/hono-app",
    runtime: "node",
    label: "@hono/node-server, Hono app",
    script: "bench/servers/hono_node.ts",
    env: { BENCH_APP: "hono" },
  },
];

/**
 * A throw-away self-signed ECDSA P-256 certificate for the TLS rows (openssl, in a temporary
 * folder): every wrk run opens its 50 connections anew, and RSA handshakes would dominate.
 */
function makeCertificate(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "lameduck-bench-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    key,
    "-out",
    cert,
  ], { stdio: "ignore" });
  return { BENCH_TLS_CERT: cert, BENCH_TLS_KEY: key };
}

/** The two response bodies. */
export const BODIES = [
  { id: "hello", label: "hello world (12 B)", path: "/" },
  { id: "16k", label: "16 KiB body", path: "/16k" },
] as const;

/** Settings of the throughput scenarios. */
export interface ThroughputConfig {
  wrk: string;
  rounds: number;
  runtimes: readonly Runtime[];
  /** Measured seconds per wrk run. */
  seconds: number;
  /** Unmeasured wrk seconds per body after each server start (JIT warm-up). */
  warmupSeconds: number;
  connections: number;
}

/** Samples of one server and body, one per round. */
export interface Series {
  rps: number[];
  errors: number[];
  /**
   * CPU time of the server process per request during the measured run, in µs: less
   * disturbed than req/s by other processes competing for the cores (they slow the server and
   * wrk alike, not the work per request).
   */
  cpuUs: number[];
}

/** The raw results: `series[serverId][bodyId]`, plus the commands used. */
export interface ThroughputResults {
  series: Record<string, Record<string, Series>>;
  commands: Record<string, string>;
  wrkCommand: string;
  config: Omit<ThroughputConfig, "wrk">;
}

/** Runs P1/P1n. `progress` receives one line per measurement. */
export async function runThroughput(
  config: ThroughputConfig,
  progress: (line: string) => void,
): Promise<ThroughputResults> {
  const servers = [...THROUGHPUT_SERVERS, ...TLS_SERVERS].filter((s) =>
    config.runtimes.includes(s.runtime)
  );
  const tlsEnv = servers.some((s) => s.tls) ? makeCertificate() : {};
  const series: Record<string, Record<string, Series>> = {};
  const commands: Record<string, string> = {};
  for (const s of servers) {
    const env = Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v} `).join("");
    commands[s.id] = env + commandOf(s.runtime, s.script).join(" ");
    series[s.id] = Object.fromEntries(
      BODIES.map((b) => [b.id, { rps: [], errors: [], cpuUs: [] }]),
    );
  }
  const measure = async (spec: ServerSpec, round: number): Promise<void> => {
    const env = { ...spec.env, ...(spec.tls ? tlsEnv : {}) };
    const scheme = spec.tls ? "https" : "http";
    const server = await startServer(spec.runtime, spec.script, { env });
    try {
      for (const body of BODIES) {
        await runWrk(
          config.wrk,
          wrkArgs(server.port, body.path, config.warmupSeconds, config.connections, scheme),
        );
      }
      for (const body of rotate(BODIES, round)) {
        const args = wrkArgs(server.port, body.path, config.seconds, config.connections, scheme);
        const cpuBefore = processCpuUs(server.pid);
        const result = await runWrk(config.wrk, args);
        const cpu = processCpuUs(server.pid) - cpuBefore;
        const s = series[spec.id]![body.id]!;
        s.rps.push(result.requestsPerSec);
        s.errors.push(result.errors);
        s.cpuUs.push(result.requests > 0 ? cpu / result.requests : NaN);
        const errors = result.errors ? `, ${result.errors} errors` : "";
        progress(
          `P1 round ${round + 1}: ${spec.id} ${body.id} ${
            Math.round(result.requestsPerSec)
          } req/s` +
            errors,
        );
      }
    } finally {
      await stopServer(server);
    }
  };
  for (let round = 0; round < config.rounds; round++) {
    for (const runtime of config.runtimes) {
      const group = servers.filter((s) => s.runtime === runtime);
      for (const spec of rotate(group, round)) {
        try {
          await measure(spec, round);
        } catch (error) {
          progress(`P1 round ${round + 1}: ${spec.id} failed: ${error}`);
          for (const body of BODIES) {
            const s = series[spec.id]![body.id]!;
            if (s.rps.length > round) continue;
            s.rps.push(NaN);
            s.errors.push(NaN);
            s.cpuUs.push(NaN);
          }
        }
      }
    }
  }
  const { wrk: _, ...rest } = config;
  const wrkCommand = `wrk -t1 -c${config.connections} -d${config.seconds}s ` +
    "http://127.0.0.1:$PORT/ (and .../16k)";
  return { series, commands, wrkCommand, config: rest };
}
