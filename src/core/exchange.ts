/**
 * One request from arrival until its response is delivered or cut: the unit of in-flight
 * accounting. The adapter decides when it ends, from the most reliable signal its runtime has
 * (see the runtime table of docs/runtimes.md).
 *
 * @module
 */

import { Context } from "./context.ts";
import type { Flight, Flights } from "./flights.ts";
import { describe } from "./options.ts";
import { forcedResponse } from "./responses.ts";
import type { FetchHandler, LifecycleEvent, RequestContext } from "./types.ts";

/** The user's handler, and the answer when it fails. */
export interface Handler {
  /** The user's `fetch`. */
  fetch: FetchHandler;
  /**
   * The answer when `fetch` threw, rejected or returned a non-`Response`, or (`stage: "send"`)
   * when its response cannot be sent. Logs `error`. Never rejects.
   */
  failed(error: unknown, request: Request, stage?: "send"): Promise<Response>;
  /** Logs a response that failed after its head was sent (`stage: "send"`). */
  cut(error: unknown, request: Request): void;
  /** Logs an event outside any exchange (`Host.log`). */
  log(event: LifecycleEvent): void;
}

const OPEN = 0;
const FORCED = 1;
const ENDED = 2;

/** A request in flight. */
export class Exchange implements Flight {
  readonly request: Request;
  /** Kept by {@linkcode Flights}. */
  slot = -1;
  readonly #ctx: Context;
  readonly #flights: Flights<Flight>;
  readonly #handler: Handler;
  #state: typeof OPEN | typeof FORCED | typeof ENDED = OPEN;
  /** While `fetch`'s promise is pending: the resolve of the promise the adapter waits on. */
  #answer: ((response: Response) => void) | undefined = undefined;
  #onForce: ((reason: unknown) => void) | undefined = undefined;

  constructor(flights: Flights<Flight>, handler: Handler, request: Request, ctx: Context) {
    this.#flights = flights;
    this.#handler = handler;
    this.request = request;
    this.#ctx = ctx;
  }

  /** The context handed to `fetch`. */
  get ctx(): Context {
    return this.#ctx;
  }

  /**
   * Calls `fetch` (or `onError`) and returns the response to send: as it is when `fetch`
   * returned one synchronously (the adapters' hot path), otherwise a promise that a forced
   * shutdown resolves with a `503` in the handler's place. Never throws or rejects.
   */
  respond(): Response | Promise<Response> {
    const { request } = this;
    const ctx = this.#ctx;
    let result: unknown;
    try {
      result = this.#handler.fetch(request, ctx as unknown as RequestContext);
    } catch (error) {
      return this.#failed(error);
    }
    if (result instanceof Response) {
      Context.markResponded(ctx);
      return result;
    }
    if (!(result instanceof Promise)) return this.#failed(notAResponse(result));
    // The promise's own resolve is kept for the forced answer, never a closure around it:
    // see contributing/internals.md ("a closure per request") and tests/gc/.
    return new Promise<Response>((resolve) => {
      this.#answer = resolve;
      result.then(
        (response: unknown) => {
          this.#answer = undefined;
          if (response instanceof Response) {
            Context.markResponded(ctx);
            resolve(response);
          } else resolve(this.#failed(notAResponse(response)));
        },
        (error: unknown) => {
          this.#answer = undefined;
          resolve(this.#failed(error));
        },
      );
    });
  }

  #failed(error: unknown): Promise<Response> {
    return this.#handler.failed(error, this.request).then((response) => {
      Context.markResponded(this.#ctx);
      return response;
    });
  }

  /**
   * The response `fetch` returned cannot be sent as it is (a field value the wire forbids, a
   * body that failed or was unusable before its first byte): logs `error` with the request and
   * returns `onError`'s answer to it (or the default `500`), which the adapter sends instead.
   * Never rejects. An adapter whose second attempt fails too sends a plain `500`.
   */
  unsendable(error: unknown): Promise<Response> {
    return this.#handler.failed(error, this.request, "send");
  }

  /**
   * The response failed after its head was sent (a body stream that errored midway): logs
   * `error` with the request. The adapter closes the connection, so the client sees a
   * truncated response, never a complete-looking one.
   */
  cut(error: unknown): void {
    this.#handler.cut(error, this.request);
  }

  /** The client went away before the response finished: aborts `ctx.signal`. */
  clientGone(): void {
    Context.clientGone(this.#ctx);
  }

  /** Whether the handler has read `ctx.signal`. */
  get signalUsed(): boolean {
    return Context.signalUsed(this.#ctx);
  }

  /**
   * A way to cut the response body at a forced shutdown, for an adapter that passes the body
   * through a stream of its own (Deno).
   */
  set onForce(cut: ((reason: unknown) => void) | undefined) {
    this.#onForce = cut;
  }

  /** Ends the exchange; only the first call counts. */
  end(outcome: "completed" | "aborted" = "completed"): void {
    if (this.#state === ENDED) return;
    this.#state = ENDED;
    this.#flights.end(this, outcome);
  }

  /**
   * Forced shutdown: aborts `ctx.signal`, answers a handler that has not responded with a
   * `503`, and cuts a body given to {@linkcode Exchange.onForce}. Returns whether it answered.
   */
  force(reason: unknown): boolean {
    if (this.#state !== OPEN) return false;
    this.#state = FORCED;
    Context.abort(this.#ctx, reason);
    this.#onForce?.(reason);
    const answer = this.#answer;
    if (answer === undefined) return false;
    this.#answer = undefined;
    answer(forcedResponse());
    return true;
  }
}

function notAResponse(value: unknown): TypeError {
  return new TypeError(`fetch returned ${describe(value)} instead of a Response`);
}
