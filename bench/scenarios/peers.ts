/**
 * F2: the shutdown contract's black-box cases, Express + lameduck against Express behind
 * other graceful-shutdown libraries and Fastify's own `close()` (`bench/servers/
 * express_peers.ts`, the same app on every side, each library's deadline at 400 ms where it has
 * one). Per peer and round, each case on a freshly started server:
 *
 * - `inflight`: one `GET /slow?ms=<slowMs>`, SIGTERM `signalAfterMs` after it was sent: does
 *   it complete with `200`, and when does the process exit;
 * - `idle`: `idleConnections` keep-alive connections complete a request each and sit idle, next
 *   to one silent connection; SIGTERM: how long until the exit (P2's case);
 * - `deaf`: one `GET /deaf` (never answered); SIGTERM: exit time and code, bounded at `boundMs`
 *   (then SIGKILL);
 * - `load`: P3's load (pooled keep-alive clients at full speed, `bench/load.ts`), SIGTERM after
 *   `beforeMs`: failed requests.
 *
 * Peers rotate round by round.
 *
 * @module
 */

import { Connection, RequestFailed } from "../client.ts";
import {
  commandOf,
  type Exit,
  now,
  packageVersions,
  type Server,
  sleep,
  startServer,
} from "../proc.ts";
import { rotate } from "../stats.ts";
import { drainOnce, type DrainRun, type DrainRunConfig } from "./drain.ts";

const SCRIPT = "bench/servers/express_peers.ts";

/** The peers, in report order: what they are, and the server's environment. */
export const PEERS = [
  { id: "lameduck", label: "Express + lameduck (`serve({ listener })`)", env: {} },
  {
    id: "lameduck-window",
    label: "Express + lameduck, `lameDuck: 1000` (behind a load balancer)",
    env: { BENCH_PEER: "lameduck", BENCH_LAME_DUCK_MS: "1000" },
  },
  { id: "http-terminator", label: "Express + http-terminator", env: {} },
  { id: "terminus", label: "Express + @godaddy/terminus", env: {} },
  { id: "stoppable", label: "Express + stoppable", env: {} },
  { id: "close-with-grace", label: "Express + close-with-grace", env: {} },
  {
    id: "fastify-close",
    label: 'Fastify `close()`, `forceCloseConnections: "idle"`',
    env: {},
  },
] as const;

/** Settings of F2. */
export interface PeersConfig extends DrainRunConfig {
  rounds: number;
  deadlineMs: number;
  slowMs: number;
  signalAfterMs: number;
  idleConnections: number;
  idleMs: number;
  /** After the signal, SIGKILL a process still there at this point. */
  killAfterMs: number;
}

/** How a process ended after SIGTERM. */
export interface PeerExit {
  /** SIGTERM to exit; `NaN` when it had to be SIGKILLed at `killAfterMs`. */
  exitMs: number;
  /** The exit code, or the signal that ended it (`SIGTERM`, `SIGKILL`). */
  exit: string;
}

/** The in-flight case: the exit, and what the request got (`200` or the failure kind). */
export interface InflightRun extends PeerExit {
  outcome: string;
  /** The response said `Connection: close` (the client will not reuse the connection). */
  toldClose: boolean;
}

/** The raw results: `runs[peer]`, one entry per round and case. */
export interface PeersResults {
  runs: Record<
    string,
    { inflight: InflightRun[]; idle: PeerExit[]; deaf: InflightRun[]; load: DrainRun[] }
  >;
  commands: Record<string, string>;
  /** The packages' versions, e.g. `express 5.3.0, ...`. */
  versions: string;
  config: PeersConfig;
}

/** The server's environment for `peer` (an id of {@linkcode PEERS}). */
function envOf(peer: string, c: PeersConfig): Record<string, string> {
  const spec = PEERS.find((p) => p.id === peer)!;
  return { BENCH_PEER: peer, BENCH_DEADLINE_MS: String(c.deadlineMs), ...spec.env };
}

async function exitAfter(server: Server, signalAt: number, c: PeersConfig): Promise<PeerExit> {
  const left = Math.max(0, c.killAfterMs - (now() - signalAt));
  const exit: Exit | undefined = await Promise.race([
    server.exited,
    sleep(left).then(() => undefined),
  ]);
  if (exit === undefined) {
    server.kill("SIGKILL");
    await server.exited;
    return { exitMs: NaN, exit: "SIGKILL" };
  }
  return { exitMs: exit.at - signalAt, exit: String(exit.code ?? exit.signal) };
}

const outcomeOf = (error: unknown): string =>
  error instanceof RequestFailed ? error.kind : String(error);

/** One request to `path`, SIGTERM `signalAfterMs` later: the request's outcome and the exit. */
async function requestThenSignal(peer: string, path: string, c: PeersConfig): Promise<InflightRun> {
  const server = await startServer("node", SCRIPT, { env: envOf(peer, c) });
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect(server.port);
    const reply = conn.get(c.killAfterMs + 5_000, path).then(
      (r) => ({ outcome: String(r.status), toldClose: r.close }),
      (error) => ({ outcome: outcomeOf(error), toldClose: false }),
    );
    await sleep(c.signalAfterMs);
    const exit = await exitAfter(server, server.kill("SIGTERM"), c);
    return { ...exit, ...await reply };
  } finally {
    server.kill("SIGKILL");
    conn?.destroy();
  }
}

async function idleOnce(peer: string, c: PeersConfig): Promise<PeerExit> {
  const server = await startServer("node", SCRIPT, { env: envOf(peer, c) });
  const conns: Connection[] = [];
  try {
    for (let i = 0; i < c.idleConnections; i++) conns.push(await Connection.connect(server.port));
    await Promise.all(conns.map((x) => x.get(5_000)));
    conns.push(await Connection.connect(server.port)); // silent: never sends a byte
    await sleep(c.idleMs);
    return await exitAfter(server, server.kill("SIGTERM"), c);
  } finally {
    server.kill("SIGKILL");
    for (const x of conns) x.destroy();
  }
}

/** Runs F2. */
export async function runPeers(
  config: PeersConfig,
  progress: (line: string) => void,
): Promise<PeersResults> {
  const runs: PeersResults["runs"] = {};
  const commands: Record<string, string> = {};
  for (const p of PEERS) {
    runs[p.id] = { inflight: [], idle: [], deaf: [], load: [] };
    const env = Object.entries(envOf(p.id, config)).map(([k, v]) => `${k}=${v} `).join("");
    commands[p.id] = env + commandOf("node", SCRIPT).join(" ");
  }
  const failed = (what: string) => (error: unknown): InflightRun => {
    progress(`F2: ${what} failed: ${error}`);
    return { exitMs: NaN, exit: "failed", outcome: "failed", toldClose: false };
  };
  for (let round = 0; round < config.rounds; round++) {
    for (const p of rotate(PEERS, round)) {
      const r = runs[p.id]!;
      const at = `F2 round ${round + 1}: ${p.id}`;
      const t = now();
      const slow = `/slow?ms=${config.slowMs}`;
      r.inflight.push(await requestThenSignal(p.id, slow, config).catch(failed(`${at} in flight`)));
      r.idle.push(await idleOnce(p.id, config).catch(failed(`${at} idle`)));
      r.deaf.push(await requestThenSignal(p.id, "/deaf", config).catch(failed(`${at} deaf`)));
      const variant = { id: p.id, label: p.label, script: SCRIPT, env: envOf(p.id, config) };
      try {
        r.load.push(await drainOnce("node", variant, config));
      } catch (error) {
        progress(`${at}: load failed: ${error}`);
      }
      const [inflight, idle, deaf, load] = [r.inflight, r.idle, r.deaf, r.load].map((x) =>
        x.at(-1)
      ) as [InflightRun, PeerExit, InflightRun, DrainRun | undefined];
      const ms = (x: PeerExit) => `${Number.isFinite(x.exitMs) ? Math.round(x.exitMs) : "n/a"} ms`;
      progress(
        `${at}: in flight ${inflight.outcome}${
          inflight.toldClose ? " (close)" : ""
        }, exit ${inflight.exit} after ${ms(inflight)}; ` +
          `idle exit ${idle.exit} after ${ms(idle)}; deaf ${deaf.outcome}, exit ${deaf.exit} ` +
          `after ${ms(deaf)}; load failed ${
            load ? load.failedEstablished + load.failedNew : "n/a"
          } (${Math.round(now() - t)} ms)`,
      );
    }
  }
  const versions = packageVersions([
    "express",
    "fastify",
    "http-terminator",
    "@godaddy/terminus",
    "stoppable",
    "close-with-grace",
  ]);
  return { runs, commands, versions, config };
}
