/**
 * The response half of the Node bridge: {@linkcode writeResponse} writes a `Response` to a
 * `ServerResponse`; {@linkcode send} is the same for the adapter's hot path. A native body is
 * `body.ts`'s; a response that cannot be sent is answered by {@linkcode failed}.
 *
 * @module
 */
import type { ServerResponse } from "node:http";
import { unsendableField } from "../../core/fields.ts";
import { LightResponse } from "./light_response.ts";
import { failBeforeHead, resetStatus, writeHead, writeLight, type WriteOptions } from "./head.ts";
import { sendBody } from "./body.ts";
import { finished, type Outcome, type Reader } from "./pipe.ts";

/**
 * How {@linkcode writeResponse} ended: `"finished"` once `end()` was called with the whole body,
 * `"cancelled"` when the client went away first, `"errored"` when the body stream failed.
 */
export type WriteOutcome = Outcome;

const ignore = (): void => {};

/**
 * Writes `response` to `outgoing`: status, status text, headers (each `Set-Cookie` on its own
 * line), then the body with backpressure, then `end()`.
 *
 * A body already in memory (one chunk, e.g. `new Response("text")`) goes out in one write with
 * a `Content-Length`; a stream is sent chunked, headers first, without waiting for its first
 * chunk. `HEAD`, `204` and `304` get no body, and the unread body is cancelled. If the client
 * goes away first, the body stream is cancelled (its `cancel()` runs). If the body errors after
 * the headers were sent, the connection is destroyed so the client sees a truncated response;
 * before, a `500` is sent. The framing fields are the bridge's own (`fields.ts`). A response the handler already wrote to `outgoing` itself is left
 * alone (its body is cancelled) and the outcome follows `outgoing`.
 *
 * @param response The response to send.
 * @param outgoing The Node response to write to.
 * @param options `head` for a `HEAD` request; `keepAlive: false` for `Connection: close`.
 * @returns How it ended; it never rejects.
 *
 * @example Stream a body
 * ```ts
 * import { createServer } from "node:http";
 * import { writeResponse } from "./response.ts";
 *
 * const server = createServer(async (_incoming, outgoing) => {
 *   const body = ReadableStream.from(["a", "b"]).pipeThrough(new TextEncoderStream());
 *   const outcome = await writeResponse(new Response(body), outgoing, {
 *     head: false,
 *     keepAlive: true,
 *   });
 *   if (outcome !== "finished") console.log(outcome);
 * });
 * server.close();
 * ```
 */
export function writeResponse(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
): Promise<WriteOutcome> {
  const outcome = send(response, outgoing, options);
  return typeof outcome === "string" ? Promise.resolve(outcome) : outcome;
}

/**
 * Told when a response is written, or the client left (the adapter's exchange), and of a
 * response that cannot be sent (`Exchange.unsendable`, `Exchange.cut`).
 */
export interface Completion {
  /** Called once, after the outcome is known. */
  end(): void;
  /**
   * The response failed before its head was written: logs `error` and returns the response to
   * send instead (`onError`'s). Without it, a plain `500` is sent.
   */
  unsendable?(error: unknown): Promise<Response>;
  /** Logs a response that cannot be sent and is not answered by `unsendable`: it was cut. */
  cut?(error: unknown): void;
}

/**
 * {@linkcode writeResponse} for the adapter's hot path: without a promise when the outcome is
 * known at once (no body, `HEAD`, an error before the head), and calling `done.end()` once it
 * is known (no promise chained per request). Never throws or rejects. A response that fails
 * before its head (a field value the wire forbids, `Response.error()`, a used or locked body,
 * a body that errors before its first chunk, a `Response` whose status or body cannot be read:
 * a subclass whose getter throws, a lookalike) is answered with `done.unsendable(error)`
 * instead; one that fails after it is cut (`done.cut(error)`, the connection destroyed).
 */
export function send(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
  done?: Completion,
): WriteOutcome | Promise<WriteOutcome> {
  if (response instanceof LightResponse && !outgoing.headersSent && !outgoing.destroyed) {
    const parts = LightResponse.parts(response);
    if (parts !== undefined) {
      try {
        writeLight(parts, outgoing, options);
      } catch (error) {
        return failed(named(error, parts.headers), outgoing, options, done);
      }
      const outcome = finished(outgoing);
      done?.end();
      return outcome;
    }
  }
  let body: ReadableStream<Uint8Array> | null;
  let status: number;
  try {
    // A subclass whose getter throws, a lookalike (`Object.create(Response.prototype)`): the
    // native getters throw for an object without a native response's state.
    body = response.body;
    status = response.status;
  } catch (error) {
    return failed(
      new TypeError("A Response that cannot be sent", { cause: error }),
      outgoing,
      options,
      done,
    );
  }
  if (outgoing.headersSent || outgoing.destroyed) {
    body?.cancel().catch(ignore);
    const outcome = settledBy(outgoing);
    if (done !== undefined) {
      if (typeof outcome === "string") done.end();
      else outcome.then(() => done.end());
    }
    return outcome;
  }
  if (body === null || options.head || status === 204 || status === 304) {
    body?.cancel().catch(ignore);
    const length = body === null && !options.head && status !== 204 && status !== 304 ? 0 : -1;
    try {
      if (status === 0) throw new TypeError("Response.error() is a network error: nothing to send");
      writeHead(response, outgoing, options, length).end();
    } catch (error) {
      return failed(named(error, response.headers), outgoing, options, done);
    }
  } else {
    const reader = lock(body);
    if (reader !== undefined) return sendBody(response, outgoing, options, reader, done);
    const error = new TypeError(
      response.bodyUsed ? "The response body was already read" : "The response body is locked",
    );
    return failed(error, outgoing, options, done);
  }
  const outcome = finished(outgoing);
  done?.end();
  return outcome;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error to log for a `writeHead` that threw: Node's `ERR_INVALID_CHAR` names the field but
 * not its value; the message every runtime logs for it (`unsendableField`) names both.
 */
export function named(error: unknown, headers: Headers | undefined): unknown {
  if ((error as { code?: unknown } | null)?.code !== "ERR_INVALID_CHAR" || !headers) return error;
  return unsendableField(headers) ?? error;
}

/**
 * `response` could not be sent. Before its head: answered with `done.unsendable(error)`'s
 * response (a plain `500` if that fails too, or without `unsendable`). After it: the connection
 * is destroyed, so the client sees a truncated response. Calls `done.end()` once settled.
 */
export function failed(
  error: unknown,
  outgoing: ServerResponse,
  options: WriteOptions,
  done: Completion | undefined,
): WriteOutcome | Promise<WriteOutcome> {
  if (outgoing.destroyed) {
    done?.end();
    return "cancelled";
  }
  if (outgoing.headersSent || done?.unsendable === undefined) {
    done?.cut?.(error);
    let outcome: WriteOutcome = "errored";
    if (outgoing.headersSent) outgoing.destroy();
    else outcome = failBeforeHead(outgoing);
    done?.end();
    return outcome;
  }
  return done.unsendable(error).then((answer) => {
    resetStatus(outgoing);
    // Without `unsendable`: if this one fails too, a plain 500.
    const second: Completion = { end: () => done.end() };
    if (done.cut !== undefined) {
      second.cut = (error) =>
        done.cut!(
          new TypeError(`onError's answer cannot be sent either: ${describeError(error)}`, {
            cause: error,
          }),
        );
    }
    return send(answer, outgoing, options, second);
  });
}

/** The outcome of a response written by someone else: once `outgoing` finishes or closes. */
function settledBy(outgoing: ServerResponse): WriteOutcome | Promise<WriteOutcome> {
  if (outgoing.writableFinished) return finished(outgoing);
  if (outgoing.destroyed) return "cancelled";
  return new Promise((resolve) => {
    outgoing.once("finish", () => resolve(finished(outgoing)));
    outgoing.once("close", () => resolve("cancelled"));
  });
}

/** The body's reader, or `undefined` when someone else holds its lock. */
function lock(body: ReadableStream<Uint8Array>): Reader | undefined {
  try {
    return body.getReader();
  } catch {
    return undefined;
  }
}
