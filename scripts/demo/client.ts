/**
 * The demo's load: a pool of keep-alive connections, one request at a time on each, that
 * behaves like a well-behaved HTTP/1.1 client:
 *
 * - it honours `Connection: close` (closes the connection after that response);
 * - it never sends on a connection the server has already closed (FIN seen);
 * - a request that could not be sent (connect refused) is retried on a fresh connection after
 *   a short pause; a request that was sent is never retried: no complete response is a failure.
 *
 * Raw sockets (the contract suite's `RawConnection`) show exactly what went wrong.
 *
 * @module
 */

import { RawConnection } from "../../tests/contract/client_raw_http.ts";

/** Milliseconds on the driver's clock. */
export const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How the load is shaped. */
export interface LoadOptions {
  port: number;
  /** Pooled connections, each with one request at a time. */
  connections: number;
  /** Pause between a response and the next request on a connection, in ms. */
  thinkMs: number;
  /** Pause before retrying a request whose connect was refused, in ms. */
  retryMs: number;
  /**
   * Act like a load balancer: poll `/readyz` every 100 ms and, once it fails, open no new
   * connection (requests that would need one go to another backend). Connections already open
   * are used until the server says `Connection: close`.
   */
  readiness: boolean;
}

/** What the client saw. */
export interface LoadStats {
  /** Complete, correct responses. */
  ok: number;
  /** Complete, correct responses that finished after the signal. */
  okAfterSignal: number;
  /** Requests sent and not yet answered when the signal was sent. */
  inFlightAtSignal: number;
  /** Of those, how many then got a complete, correct response. */
  inFlightCompleted: number;
  /** Requests sent that got no complete, correct response, by cause. */
  failed: Record<string, number>;
  /** When each failure after the signal happened, in ms after it. */
  failedMsAfterSignal: number[];
  /** Connect attempts refused (nothing sent; the request is retried). */
  refused: number;
  /** Requests not sent because readiness failed (a load balancer sends them elsewhere). */
  rerouted: number;
  /** Responses that said `Connection: close`. */
  toldClose: number;
  /** Connections opened. */
  connects: number;
}

/** A running load. */
export interface Load {
  stats: LoadStats;
  /** Marks the signal moment: snapshots the requests in flight. */
  markSignal(): void;
  /** No new requests from now on; resolves when every connection is done (bounded). */
  stop(): Promise<void>;
}

/** Total failed requests in `stats`. */
export function failedCount(stats: LoadStats): number {
  return Object.values(stats.failed).reduce((a, b) => a + b, 0);
}

/**
 * The request mix: every third connection asks only `GET /` (as fast as it can); the others
 * cycle through 12 `GET /`, 5 `GET /slow` (100-800 ms) and 3 `GET /stream` (800 ms).
 */
function pathFor(worker: number, n: number): { path: string; expect: string } {
  const slot = worker % 3 === 0 ? 0 : (worker * 7 + n) % 20;
  if (slot < 12) return { path: "/", expect: "hello" };
  if (slot < 17) {
    return { path: `/slow?ms=${100 + ((worker * 131 + n * 37) % 8) * 100}`, expect: "slept" };
  }
  return { path: "/stream", expect: "chunk 5 of 5" };
}

/** Whether the server already closed (or half-closed) `conn`: then nothing may be sent on it. */
function usable(conn: RawConnection): boolean {
  const s = conn.socket;
  return !s.destroyed && !s.readableEnded && s.writable;
}

function causeOf(error: unknown): string {
  const message = String((error as Error)?.message ?? error);
  const closed = /Connection closed \(([^)]+)\) before the response was complete \((.*)\)/
    .exec(message);
  if (closed) {
    const kind = closed[1] === "rst" ? "reset" : closed[1] === "fin" ? "closed" : closed[1];
    return closed[2]?.startsWith("status") ? `${kind} mid-body` : `${kind} before response`;
  }
  if (/Timed out/.test(message)) return "timeout";
  return message.slice(0, 60);
}

/** Polls `GET /readyz` every `everyMs` on its own connection, like a load balancer. */
function pollReadiness(port: number, everyMs: number, onNotReady: () => void): () => void {
  let stopped = false;
  (async () => {
    let conn: RawConnection | undefined;
    while (!stopped) {
      try {
        if (conn === undefined || !usable(conn)) conn = await RawConnection.connect(port, 2_000);
        const res = await conn.request("GET", "/readyz", { timeoutMs: 2_000 });
        if (res.status !== 200) break;
        if (res.headers.connection?.toLowerCase() === "close") conn.destroy();
      } catch {
        break; // refused, reset, timed out: not ready either
      }
      await sleep(everyMs);
    }
    conn?.destroy();
    if (!stopped) onNotReady();
  })();
  return () => (stopped = true);
}

/** Starts `options.connections` workers against 127.0.0.1:`options.port`. */
export function startLoad(options: LoadOptions): Load {
  const stats: LoadStats = {
    ok: 0,
    okAfterSignal: 0,
    inFlightAtSignal: 0,
    inFlightCompleted: 0,
    failed: {},
    failedMsAfterSignal: [],
    refused: 0,
    rerouted: 0,
    toldClose: 0,
    connects: 0,
  };
  let stopping = false;
  let signalAt: number | undefined;
  let ready = true;
  const stopPolling = options.readiness
    ? pollReadiness(options.port, 100, () => (ready = false))
    : () => {};
  const inFlight = new Set<{ atSignal: boolean }>();
  const fail = (cause: string) => {
    stats.failed[cause] = (stats.failed[cause] ?? 0) + 1;
    if (signalAt !== undefined) stats.failedMsAfterSignal.push(Math.round(now() - signalAt));
  };

  /** Sends one request on `conn`; resolves with whether the connection may be used again. */
  const exchange = async (
    conn: RawConnection,
    path: string,
    expect: string,
    on: string,
  ): Promise<boolean> => {
    const request = { atSignal: false };
    inFlight.add(request);
    try {
      const res = await conn.request("GET", path, { timeoutMs: 15_000 });
      const close = res.headers.connection?.toLowerCase() === "close";
      if (close) stats.toldClose++;
      if (res.status !== 200) fail(`status ${res.status}`);
      else if (!res.body.includes(expect)) fail("truncated body");
      else {
        stats.ok++;
        if (signalAt !== undefined) stats.okAfterSignal++;
        if (request.atSignal) stats.inFlightCompleted++;
      }
      return !close;
    } catch (error) {
      fail(`${causeOf(error)} on a ${on}`);
      return false;
    } finally {
      inFlight.delete(request);
    }
  };

  const worker = async (id: number): Promise<void> => {
    let conn: RawConnection | undefined;
    let fresh = true;
    for (let n = 0; !stopping; n++) {
      const { path, expect } = pathFor(id, n);
      // Get a connection the request can be sent on; retry refused connects (nothing sent).
      while (!stopping && (conn === undefined || !usable(conn))) {
        conn?.destroy();
        conn = undefined;
        if (!ready) {
          stats.rerouted++; // a load balancer sends it to another backend
          return;
        }
        try {
          conn = await RawConnection.connect(options.port, 2_000);
          stats.connects++;
          fresh = true;
        } catch {
          stats.refused++;
          await sleep(options.retryMs);
        }
      }
      if (stopping || conn === undefined) break;
      const keep = await exchange(
        conn,
        path,
        expect,
        fresh ? "new connection" : "reused connection",
      );
      fresh = false;
      if (!keep) {
        conn.destroy();
        conn = undefined;
      }
      if (options.thinkMs > 0) await sleep(Math.random() * options.thinkMs);
    }
    conn?.destroy();
  };

  const workers = Array.from({ length: options.connections }, (_, i) => worker(i));
  return {
    stats,
    markSignal() {
      signalAt = now();
      stats.inFlightAtSignal = inFlight.size;
      for (const request of inFlight) request.atSignal = true;
    },
    async stop() {
      stopping = true;
      stopPolling();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(workers),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 16_000))),
      ]);
      clearTimeout(timer);
    },
  };
}
