/**
 * One request from arrival until its response body is handed to the runtime or cancelled:
 * the unit of in-flight accounting. The adapter decides when that is, from the most reliable
 * signal its runtime has (see the README's runtime table).
 *
 * @module
 */

import type { ExchangeInit } from "./adapter.ts";
import { forcedResponse } from "./responses.ts";
import type { RemoteAddress, RequestContext } from "./types.ts";

/** The part of the server an exchange reports to. */
export interface Tracker {
  /** Called once per exchange, when it ends. */
  release(exchange: Exchange, outcome: "completed" | "aborted"): void;
  /** Runs the user's handler: the response, as it is when `fetch` returned one synchronously. */
  respond(exchange: Exchange): Response | Promise<Response>;
  /** The server's shutdown signal. */
  readonly shutdownSignal: AbortSignal;
}

/** The request context handed to `fetch`; its `signal` is made on first use. */
class Context {
  readonly shutdown: AbortSignal;
  readonly remoteAddr: RemoteAddress;
  #controller: AbortController | undefined;
  #reason: unknown;
  #link: (() => void) | undefined;
  [key: string]: unknown;

  constructor(
    shutdown: AbortSignal,
    remoteAddr: RemoteAddress,
    env: Record<string, unknown> | undefined,
    link: (() => void) | undefined,
  ) {
    this.shutdown = shutdown;
    this.remoteAddr = remoteAddr;
    this.#link = link;
    if (env) Object.assign(this, env);
  }

  /** Whether the handler has read `signal`. */
  get signalUsed(): boolean {
    return this.#controller !== undefined;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
      else this.#link?.();
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** A request in flight. */
export class Exchange {
  readonly request: Request;
  readonly ctx: RequestContext;
  #context: Context;
  #tracker: Tracker;
  #ended = false;
  #responded = false;
  #resolveOnForce: ((response: Response) => void) | undefined;
  #cancel: ((reason: unknown) => void) | undefined;

  constructor(tracker: Tracker, request: Request, init: ExchangeInit) {
    this.#tracker = tracker;
    this.request = request;
    const { clientSignal, clientSignalAfterResponse } = init;
    // Linked on first use of ctx.signal only: reading request.signal has a cost everywhere,
    // and on Deno it also prints the legacy-abort warning.
    const link = clientSignal && (() => {
      const signal = clientSignal();
      const onAbort = () => {
        if (clientSignalAfterResponse || !this.#responded) this.clientGone();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    this.#context = new Context(tracker.shutdownSignal, init.remoteAddr, init.env, link);
    this.ctx = this.#context as unknown as RequestContext;
  }

  /**
   * Calls `fetch` (or `onError`): the response to send, without a promise when `fetch` returned
   * it synchronously (the adapters' hot path). Never throws or rejects.
   */
  respond(): Response | Promise<Response> {
    const response = this.#tracker.respond(this);
    if (response instanceof Response) {
      this.#responded = true;
      return response;
    }
    return response.then((response) => {
      this.#responded = true;
      return response;
    });
  }

  /** {@linkcode Exchange.respond}, always as a promise. */
  run(): Promise<Response> {
    const response = this.respond();
    return response instanceof Response ? Promise.resolve(response) : response;
  }

  /** The client went away before the response finished: aborts `ctx.signal`. */
  clientGone(): void {
    this.#context.abort(new DOMException("The client disconnected", "AbortError"));
  }

  /** Whether the handler has read `ctx.signal`. */
  get signalUsed(): boolean {
    return this.#context.signalUsed;
  }

  /**
   * Forced shutdown: aborts `ctx.signal`, answers a handler that has not responded, and cuts a
   * body wrapped by {@linkcode Exchange.track}.
   */
  force(reason: unknown): void {
    this.#context.abort(reason);
    this.#resolveOnForce?.(forcedResponse());
    this.#cancel?.(reason);
  }

  /**
   * While `fetch`'s promise is pending: the `resolve` of the promise the adapter waits on, so
   * that `force()` answers in the handler's place. Give the promise's own resolve function,
   * not a closure around it (see `LameduckServer.respond`).
   */
  set resolveOnForce(resolve: ((response: Response) => void) | undefined) {
    this.#resolveOnForce = resolve;
  }

  /** Ends the exchange; only the first call counts. */
  end(outcome: "completed" | "aborted" = "completed"): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#tracker.release(this, outcome);
  }

  /**
   * Returns `response` with its body passed through a stream of lameduck's, so a client that
   * leaves mid-body aborts `ctx.signal` and a forced shutdown can cut the body. The exchange
   * ends after the last chunk or the cancel. The copy is sent chunked: use it only where the
   * runtime gives no other way to see a disconnect (Deno).
   */
  track(response: Response): Response {
    const body = response.body;
    if (body === null) return response;
    const reader = body.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    this.#cancel = (reason) => {
      controller.error(reason);
      reader.cancel(reason).catch(() => {});
    };
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      pull: async (c) => {
        try {
          const { done, value } = await reader.read();
          if (done) {
            c.close();
            this.end();
          } else {
            c.enqueue(value);
          }
        } catch (error) {
          c.error(error);
        }
      },
      cancel: (reason) => {
        this.clientGone();
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(stream, response);
  }
}
