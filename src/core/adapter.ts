/**
 * The seam between the runtime-free core and one runtime. An adapter is the only code that
 * touches `Deno`, `Bun` or `node:*`.
 *
 * @module
 */

import type { ListenAddress, RemoteAddress, Runtime } from "./types.ts";
import type { Exchange } from "./exchange.ts";

/** What the core offers an adapter for every request. */
export interface Host {
  /**
   * Starts a request. Returns a `Response` when the core answered it without calling `fetch`
   * (readiness, overload): send it as is. Otherwise an {@linkcode Exchange} that counts as in
   * flight until its `end()`.
   */
  open(request: Request, init: ExchangeInit): Exchange | Response;
  /** `true` once every response should say `Connection: close`. */
  readonly draining: boolean;
}

/** What an adapter knows about a request when it arrives. */
export interface ExchangeInit {
  /** The client's address. */
  remoteAddr: RemoteAddress;
  /** Runtime objects added to the request context (`server`, `incoming`, `outgoing`). */
  env?: Record<string, unknown>;
  /** The runtime's signal for a client that went away (read lazily, on first `ctx.signal`). */
  clientSignal?: () => AbortSignal;
  /**
   * Whether `clientSignal` still means "client gone" after the handler responded. `false` on
   * Deno, which aborts `request.signal` after every successful response.
   */
  clientSignalAfterResponse?: boolean;
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
}

/** Process-level services: signals, exit and the environment. */
export interface Platform {
  /** This process's ID. */
  readonly pid: number;
  /** Reads an environment variable; `undefined` when unset or not permitted (Deno). */
  env(name: string): string | undefined;
  /** Removes an environment variable, so child processes do not inherit it (best effort). */
  unsetEnv(name: string): void;
  /** Listens for a signal; returns a function that removes the listener. */
  onSignal(signal: string, listener: () => void): () => void;
  /** Ends the process. */
  exit(code: number): void;
}
