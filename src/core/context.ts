/**
 * The request context handed to `fetch` as its second argument. Each adapter extends
 * {@linkcode Context} with what its runtime's Hono adapter reads from `c.env` (Bun: `server`;
 * Node: `incoming`, `outgoing`) and with how it learns of a client that left.
 *
 * @module
 */

import type { RemoteAddress } from "./types.ts";

/**
 * The base of every request context. Only `signal`, `shutdown` and `remoteAddr` are public;
 * the core drives the rest through static methods, so a handler sees nothing else.
 */
export abstract class Context {
  /** The server's shutdown signal. */
  readonly shutdown: AbortSignal;
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  #responded = false;

  constructor(shutdown: AbortSignal) {
    this.shutdown = shutdown;
  }

  /** The client's address (read lazily where the runtime charges for it). */
  abstract get remoteAddr(): RemoteAddress;

  /**
   * Aborts when the client goes away before the response is finished, or when the drain is
   * forced. Made on first use: most handlers never read it.
   */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.#reason !== undefined) controller.abort(this.#reason);
      else this.watchClient();
    }
    return controller.signal;
  }

  /**
   * Called once, on the first read of `signal`: an adapter whose runtime has a signal of its
   * own for a client that left (`request.signal`) subscribes here and calls
   * {@linkcode Context.clientGone}. Reading that signal costs on every runtime, hence the
   * laziness.
   */
  protected watchClient(): void {}

  /** Whether `fetch` (or `onError`) has produced the response. */
  protected get responded(): boolean {
    return this.#responded;
  }

  /** Whether the handler read `signal`. */
  static signalUsed(ctx: Context): boolean {
    return ctx.#controller !== undefined;
  }

  /** Records that the response exists (the client signal of Deno means less after it). */
  static markResponded(ctx: Context): void {
    ctx.#responded = true;
  }

  /** Aborts `signal` with `reason`; only the first reason counts. */
  static abort(ctx: Context, reason: unknown): void {
    if (ctx.#reason !== undefined) return;
    ctx.#reason = reason;
    ctx.#controller?.abort(reason);
  }

  /** The client went away before the response finished. */
  static clientGone(ctx: Context): void {
    Context.abort(ctx, new DOMException("The client disconnected", "AbortError"));
  }
}
