/**
 * The seam between the runtime-free core and one runtime. An adapter is the only code that
 * touches `Deno.serve`, `Bun.serve` or `node:http`; it talks to the core through
 * {@linkcode Host} alone.
 *
 * @module
 */

import type { Context } from "./context.ts";
import type { Exchange } from "./exchange.ts";
import type { Passage } from "./passage.ts";
import type { LifecycleEvent, ListenAddress, NodeListener, Runtime } from "./types.ts";

/** What the core offers an adapter for every request. */
export interface Host {
  /**
   * Starts a request. Returns a `Response` when the core answered it without calling `fetch`
   * (readiness, overload): send it as is. Otherwise an {@linkcode Exchange} that counts as in
   * flight until its `end()`.
   */
  open(request: Request, ctx: Context): Exchange | Response;
  /**
   * Starts a request for a Node listener, by its method and its target as sent (`/path?q`):
   * no `Request` is built. Returns the probe's or overload's answer (a `Promise` while
   * readiness checks run: not in flight), to send instead of calling the listener; otherwise a
   * {@linkcode Passage} that counts as in flight until its `end()`.
   */
  admit(method: string, target: string): Passage | Response | Promise<Response>;
  /** `true` once every response should say `Connection: close`. */
  readonly draining: boolean;
  /** The server's shutdown signal, for the adapter's {@linkcode Context}s. */
  readonly signal: AbortSignal;
  /**
   * Reports what the adapter has to say outside a request's exchange (a warning, an error of
   * the runtime's with no request to name) through the server's `logger`, so `logger: false`
   * silences it too.
   */
  log(event: LifecycleEvent): void;
}

/** What `serve()` hands every adapter's factory. */
export interface AdapterSetup {
  /** The runtime the process runs on, detected once (`src/process/runtime.ts`). */
  readonly runtime: Runtime;
  /** The resolved `overrideGlobals` option (only the Node bridge replaces globals). */
  readonly overrideGlobals: boolean;
}

/** What every adapter module exports: `createAdapter`. */
export type CreateAdapter = (setup: AdapterSetup) => Adapter;

/**
 * One runtime's server, driven by the core. Every adapter implements every member: what the
 * core asks is the same for each runtime.
 */
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
  /**
   * Cuts every connection, after the responses already handed to the runtime (a forced `503`)
   * had one turn of the event loop to be written. Safe to call more than once, and before
   * `close()`.
   */
  force(): void;
  /**
   * How much is in flight, given `requests`, the core's count of exchanges not ended: that
   * count, plus what the runtime sees and the core cannot (Bun's streaming bodies), plus the
   * upgraded connections (WebSockets) the adapter keeps outside the core's requests, which
   * count as aborted when the drain is forced. `answering`: requests the core is answering
   * itself right now that the runtime may count too (a metrics scrape), left out.
   */
  inFlight(requests: number, answering: number): number;
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
  /** A Node request listener to serve instead of the core's `fetch` (Node adapter only). */
  listener?: NodeListener | undefined;
}
