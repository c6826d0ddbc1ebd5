/**
 * The seam between the runtime-free core and one runtime. An adapter is the only code that
 * touches `Deno.serve`, `Bun.serve` or `node:http`; it talks to the core through
 * {@linkcode Host} alone.
 *
 * @module
 */

import type { Context } from "./context.ts";
import type { Exchange } from "./exchange.ts";
import type { DrainCounts } from "./flights.ts";
import type { ListenAddress, Runtime } from "./types.ts";

/** What the core offers an adapter for every request. */
export interface Host {
  /**
   * Starts a request. Returns a `Response` when the core answered it without calling `fetch`
   * (readiness, overload): send it as is. Otherwise an {@linkcode Exchange} that counts as in
   * flight until its `end()`.
   */
  open(request: Request, ctx: Context): Exchange | Response;
  /** `true` once every response should say `Connection: close`. */
  readonly draining: boolean;
  /** The server's shutdown signal, for the adapter's {@linkcode Context}s. */
  readonly signal: AbortSignal;
}

/** One runtime's server, driven by the core. */
export interface Adapter {
  /** The runtime this adapter serves on. */
  readonly runtime: Runtime;
  /** Binds and starts serving; rejects with the listen error. */
  listen(options: ListenOptions, host: Host): Promise<ListenAddress>;
  /**
   * Stops accepting and closes idle connections, answering every request already received.
   * Resolves once no connection is left (the core bounds the wait with its deadline).
   */
  close(): Promise<void>;
  /** Cuts every connection now. Safe to call more than once, and before `close()`. */
  force(): void;
  /** In-flight work the runtime sees and the core cannot (Bun's streaming bodies). */
  pending?(): number;
  /**
   * Upgraded connections (WebSockets) the adapter keeps outside the core's requests: they
   * count as in flight on top of the requests, and as aborted when the drain is forced.
   */
  open?(): number;
  /**
   * How many requests finished during the drain, where the adapter knows better than the
   * core's count (Bun: streaming bodies the core cannot see end).
   */
  completed?(counts: Readonly<DrainCounts>): number;
}

/** Where to listen. */
export interface ListenOptions {
  /** Port, `0` for any free one. */
  port: number;
  /** Address to bind. */
  hostname: string;
  /** Bun's `websocket` handlers, passed through. */
  websocket?: unknown;
  /** An inherited listening socket to adopt instead of binding `hostname:port`. */
  fd?: number;
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string; key: string } | undefined;
  /** Bind with `SO_REUSEPORT` (`lameduck run --handover reuseport`). */
  reusePort?: boolean;
}
