/**
 * P3's load: `connections` pooled keep-alive clients sending `GET /` back to back, counting
 * every outcome. A client never sends on a connection the server has closed or half-closed,
 * honours `Connection: close`, and retries a refused connect after `retryMs` (nothing was
 * sent). A request that was sent and got no complete `200` is a failure, never retried.
 *
 * @module
 */

import { Connection, RequestFailed } from "./client.ts";
import { now, sleep } from "./proc.ts";

/** What the clients saw. */
export interface LoadStats {
  /** Complete `200` responses before / after the signal. */
  okBefore: number;
  okAfter: number;
  /** Requests sent on a connection that had already completed a response, no response. */
  failedEstablished: number;
  /** Requests sent as the first on a new connection, no response. */
  failedNew: number;
  /** Failures (both kinds) that happened before the signal. */
  failedBeforeSignal: number;
  /** Failures by kind (`reset`, `closed`, `timeout`, `status`). */
  failures: Record<string, number>;
  /** Connect attempts refused after the signal, while the server process still ran. */
  refused: number;
  /** Connections opened. */
  connects: number;
  /** Responses that said `Connection: close`. */
  toldClose: number;
}

/** A running load. */
export interface Load {
  stats: LoadStats;
  /** Marks the moment the signal was sent. */
  markSignal(at: number): void;
  /** Marks the server gone: refusals no longer count. */
  markExited(): void;
  /** Sends no new request; resolves when every client has stopped. */
  stop(): Promise<void>;
}

/** Starts the clients against 127.0.0.1:`port`. */
export function startLoad(port: number, connections: number, retryMs: number): Load {
  const stats: LoadStats = {
    okBefore: 0,
    okAfter: 0,
    failedEstablished: 0,
    failedNew: 0,
    failedBeforeSignal: 0,
    failures: {},
    refused: 0,
    connects: 0,
    toldClose: 0,
  };
  let signalAt: number | undefined;
  let exited = false;
  let stopping = false;

  const client = async (): Promise<void> => {
    let conn: Connection | undefined;
    while (!stopping) {
      if (conn === undefined || !conn.usable) {
        conn?.destroy();
        conn = undefined;
        try {
          conn = await Connection.connect(port, 2_000);
          stats.connects++;
        } catch {
          if (signalAt !== undefined && !exited) stats.refused++;
          await sleep(retryMs);
          continue;
        }
        if (stopping) break;
      }
      const current = conn;
      const established = current.completed > 0;
      try {
        const reply = await current.get(10_000);
        if (reply.status !== 200) throw new RequestFailed("status", String(reply.status));
        if (signalAt === undefined || now() < signalAt) stats.okBefore++;
        else stats.okAfter++;
        if (reply.close) {
          stats.toldClose++;
          current.destroy();
          conn = undefined;
        }
      } catch (error) {
        const kind = error instanceof RequestFailed ? error.kind : "reset";
        stats.failures[kind] = (stats.failures[kind] ?? 0) + 1;
        if (established) stats.failedEstablished++;
        else stats.failedNew++;
        if (signalAt === undefined) stats.failedBeforeSignal++;
        current.destroy();
        conn = undefined;
      }
    }
    conn?.destroy();
  };

  const clients = Array.from({ length: connections }, client);
  return {
    stats,
    markSignal: (at) => (signalAt = at),
    markExited: () => (exited = true),
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all(clients);
    },
  };
}
