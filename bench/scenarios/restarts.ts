/**
 * F3: restarts under load, `lameduck run --workers 2` (SIGHUP) against `pm2 reload` of PM2's
 * cluster mode with 2 instances, the same Express app on both sides (`bench/servers/
 * framework.ts`: `serve({ listener })` with lameduck's defaults / `app.listen(PORT)` with
 * `process.send("ready")` and `server.close()` on SIGINT, PM2's `wait_ready` and otherwise its
 * defaults). The restart proof's load (`tests/supervisor/load.ts`): half of the clients open a
 * new connection per request, half keep one pooled keep-alive connection; every 8th request is
 * slow. `restarts` restarts one after another, each once the previous one is done; then the
 * load stops. Every failed request is counted, by client kind and by error.
 *
 * PM2 runs with its own `PM2_HOME` in a temporary folder; its daemon is killed at the end.
 *
 * @module
 */

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { type Load, type Mode, startLoad } from "../../tests/supervisor/load.ts";
import { commandOf, now, packageVersions, ROOT, sleep, stopServer } from "../proc.ts";
import { rotate } from "../stats.ts";
import { startSupervised } from "./supervised.ts";

const SCRIPT = "bench/servers/framework.ts";
const APP_ENV = { BENCH_FRAMEWORK: "express", BENCH_PID_BODY: "1" };
const PM2 = join(ROOT, "node_modules", "pm2", "bin", "pm2");

/** The two sides. */
export const RESTARTERS = ["lameduck", "pm2"] as const;

/** Settings of F3. */
export interface RestartsConfig {
  rounds: number;
  restarts: number;
  /** Clients per kind (new connection per request, pooled keep-alive). */
  clientsPerKind: number;
  slowMs: number;
  /** Pause between one restart's end and the next one. */
  pauseMs: number;
}

/** One run of `restarts` restarts. */
export interface RestartRun {
  requests: number;
  /** Failed requests per client kind. */
  failed: Record<Mode, number>;
  /** Failures by error (`ECONNRESET`, `timeout`, `status 502`, ...). */
  kinds: Record<string, number>;
  /** Restart command (SIGHUP / `pm2 reload`) to done, per restart, in ms. */
  restartMs: number[];
  /** Distinct PIDs that answered. */
  pids: number;
}

/** The raw results: `runs.lameduck`, `runs.pm2`, one run per round. */
export interface RestartsResults {
  runs: Record<string, RestartRun[]>;
  commands: Record<string, string>;
  /** The packages' versions, e.g. `express 5.3.0, pm2 7.0.4`. */
  versions: string;
  config: RestartsConfig;
}

const KINDS: Mode[] = ["new connection per request", "pooled keep-alive"];

function startLoads(port: number, c: RestartsConfig): Load[] {
  return KINDS.map((mode) => startLoad(port, c.clientsPerKind, mode, c.slowMs));
}

async function summarizeLoads(loads: Load[], restartMs: number[]): Promise<RestartRun> {
  await Promise.all(loads.map((l) => l.stop()));
  const kinds: Record<string, number> = {};
  const pids = new Set<number>();
  for (const o of loads.flatMap((l) => l.outcomes)) {
    if (o.error) kinds[o.error] = (kinds[o.error] ?? 0) + 1;
    else if (o.pid) pids.add(o.pid);
  }
  const failed = Object.fromEntries(
    KINDS.map((k, i) => [k, loads[i]!.outcomes.filter((o) => o.error).length]),
  ) as Record<Mode, number>;
  const requests = loads.reduce((a, l) => a + l.outcomes.length, 0);
  return { requests, failed, kinds, restartMs, pids: pids.size };
}

async function lameduckOnce(c: RestartsConfig): Promise<RestartRun> {
  const sup = await startSupervised("node", ["--workers", "2"], {
    ...APP_ENV,
    BENCH_SERVE: "lameduck",
  }, SCRIPT);
  try {
    const loads = startLoads(sup.port, c);
    await sleep(300);
    const restartMs: number[] = [];
    for (let i = 1; i <= c.restarts; i++) {
      const t = now();
      sup.kill("SIGHUP");
      for (;;) {
        const log = sup.stderr();
        if (/restart failed/.test(log)) throw new Error(`restart ${i} failed:\n${log}`);
        if ((log.match(/restart done/g) ?? []).length >= i) break;
        if (now() - t > 30_000) throw new Error(`restart ${i} not done in 30 s:\n${log}`);
        await sleep(20);
      }
      restartMs.push(now() - t);
      await sleep(c.pauseMs);
    }
    await sleep(300);
    return await summarizeLoads(loads, restartMs);
  } finally {
    await stopServer(sup, 20_000);
  }
}

/** A PM2 daemon of its own (`PM2_HOME` in a temporary folder), run by this Node. */
class Pm2 {
  readonly dir = mkdtempSync(join(tmpdir(), "lameduck-bench-pm2-"));
  readonly home = join(this.dir, "home");

  run(...args: string[]): Promise<string> {
    const env = {
      ...process.env,
      PM2_HOME: this.home,
      // PM2 starts the apps with the `node` it finds (this Node: it strips the types).
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    };
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [PM2, ...args], { env, timeout: 60_000 }, (error, stdout) => {
        if (error) reject(new Error(`pm2 ${args.join(" ")} failed: ${error.message}`));
        else resolve(stdout);
      });
    });
  }

  /** `pm2 kill`, then SIGKILL of the daemon if it is still there; removes the folder. */
  async end(): Promise<void> {
    await this.run("kill").catch(() => {});
    try {
      process.kill(Number(readFileSync(join(this.home, "pm2.pid"), "utf8")), "SIGKILL");
    } catch {
      // gone, as it should be
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The app of the PM2 side's ecosystem file (`cwd`: the repository root). */
export function pm2App(port: string, cwd: string = ROOT): Record<string, unknown> {
  return {
    name: "bench",
    script: SCRIPT,
    cwd,
    exec_mode: "cluster",
    instances: 2,
    wait_ready: true,
    env: { ...APP_ENV, BENCH_SERVE: "pm2", PORT: port },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });
}

/** Resolves once `GET /` on `port` answers 200 (bounded). */
async function untilServing(port: number): Promise<void> {
  const started = now();
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/`)
      .then(async (r) => (await r.arrayBuffer(), r.ok), () => false);
    if (ok) return;
    if (now() - started > 15_000) throw new Error(`port ${port}: not serving within 15 s`);
    await sleep(50);
  }
}

async function pm2Once(pm2: Pm2, c: RestartsConfig): Promise<RestartRun> {
  const port = await freePort();
  const file = join(pm2.dir, "ecosystem.config.cjs");
  writeFileSync(file, `module.exports = ${JSON.stringify({ apps: [pm2App(String(port))] })};\n`);
  await pm2.run("start", file);
  try {
    await untilServing(port);
    const loads = startLoads(port, c);
    await sleep(300);
    const restartMs: number[] = [];
    for (let i = 1; i <= c.restarts; i++) {
      const t = now();
      await pm2.run("reload", "bench");
      restartMs.push(now() - t);
      await sleep(c.pauseMs);
    }
    await sleep(300);
    return await summarizeLoads(loads, restartMs);
  } finally {
    await pm2.run("delete", "bench");
  }
}

/** Runs F3. */
export async function runRestarts(
  config: RestartsConfig,
  progress: (line: string) => void,
): Promise<RestartsResults> {
  const runs: Record<string, RestartRun[]> = { lameduck: [], pm2: [] };
  const lameduckCommand = `BENCH_FRAMEWORK=express BENCH_PID_BODY=1 BENCH_SERVE=lameduck ` +
    `node src/supervisor/cli.ts run --port 0 --host 127.0.0.1 --workers 2 -- ${
      commandOf("node", SCRIPT).join(" ")
    }`;
  const commands = {
    lameduck: `${lameduckCommand}   # then SIGHUP to the supervisor, ${config.restarts} times`,
    pm2: `pm2 start ecosystem.config.cjs   # module.exports = ${
      JSON.stringify({ apps: [pm2App("$PORT", ".")] })
    }; then \`pm2 reload bench\`, ${config.restarts} times`,
  };
  const pm2 = new Pm2();
  try {
    await pm2.run("ping"); // starts the daemon
    for (let round = 0; round < config.rounds; round++) {
      for (const side of rotate(RESTARTERS, round)) {
        const t = now();
        try {
          const run = side === "lameduck" ? await lameduckOnce(config) : await pm2Once(pm2, config);
          runs[side]!.push(run);
          const kinds = Object.entries(run.kinds).map(([k, v]) => `${k} ${v}`).join(", ");
          progress(
            `F3 round ${round + 1}: ${side} ${run.requests} requests, failed ` +
              `${KINDS.map((k) => `${k} ${run.failed[k]}`).join(", ")}${
                kinds ? ` (${kinds})` : ""
              }, ` +
              `${run.pids} PIDs answered (${Math.round(now() - t)} ms)`,
          );
        } catch (error) {
          progress(`F3 round ${round + 1}: ${side} failed: ${error}`);
        }
      }
    }
  } finally {
    await pm2.end();
  }
  return { runs, commands, versions: packageVersions(["express", "pm2"]), config };
}
