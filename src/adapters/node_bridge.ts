/**
 * The bridge between `node:http` and the Fetch API: {@linkcode toRequest} turns an
 * `IncomingMessage` into a `Request`, {@linkcode writeResponse} writes a `Response` to a
 * `ServerResponse`. It runs on Node, and on Deno and Bun through their `node:http`. It never
 * replaces the global `Request`, `Response` or `Headers`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * How {@linkcode writeResponse} ended: `"finished"` once `end()` was called with the whole body,
 * `"cancelled"` when the client went away first, `"errored"` when the body stream failed.
 */
export type WriteOutcome = "finished" | "cancelled" | "errored";

/** Options of {@linkcode writeResponse}. */
export interface WriteOptions {
  /** The request was `HEAD`: send the headers only. */
  head: boolean;
  /** `false` sends `Connection: close` and closes the connection after this response. */
  keepAlive: boolean;
}

/** Options of {@linkcode writePlain}. */
export interface PlainOptions {
  /** `false` sends `Connection: close` and closes the connection after this response. */
  keepAlive: boolean;
  /** Extra fields, lower-case names; they override the defaults. */
  headers?: Readonly<Record<string, string>>;
}

// The Fetch standard requires `duplex` for a streamed request body; lib.dom lacks it.
interface StreamingRequestInit extends RequestInit {
  duplex?: "half";
}

type Chunk = ReadableStreamReadResult<Uint8Array>;

/** Microtasks a read may take and still count as already available (one to three seen). */
const SOON = 8;
const HOST = /^(?:[\w.-]+|\[[\dA-Fa-f:.]+\])(?::\d{1,5})?$/;
const encoder = new TextEncoder();
/** How to discard the rest of a streamed request body once its response is sent. */
const discarders = new WeakMap<IncomingMessage, () => void>();
const ignore = (): void => {};

/**
 * Builds a Fetch `Request` from a Node request, without reading the body.
 *
 * The URL uses the `Host` header, or `origin` when there is none; an absolute-form target
 * (`GET http://host/path`, from proxies) is used as it is. Headers come from `rawHeaders`, so
 * repeated fields are all kept. The body is `null` for `GET`, `HEAD` and requests without
 * `Content-Length` or `Transfer-Encoding`; otherwise a stream fed from `incoming` that pauses it
 * while nobody reads and errors if the client aborts mid-body. Whatever is left unread when
 * {@linkcode writeResponse} finishes is discarded, so the connection can carry the next request.
 * The request's `signal` never aborts: the caller owns cancellation.
 *
 * @param incoming The Node request.
 * @param origin The server's origin without a trailing slash, e.g. `"http://127.0.0.1:8000"`.
 * @returns The request.
 * @throws {TypeError} When the `Host` header or the target cannot form a URL, or the method is
 * one Fetch refuses (`CONNECT`, `TRACE`, `TRACK`): answer `400`.
 *
 * @example Serve a fetch handler with node:http
 * ```ts
 * import { createServer } from "node:http";
 * import { toRequest, writeResponse } from "./node_bridge.ts";
 *
 * const server = createServer((incoming, outgoing) => {
 *   const request = toRequest(incoming, "http://127.0.0.1:8000");
 *   const head = request.method === "HEAD";
 *   void writeResponse(new Response(request.url), outgoing, { head, keepAlive: true });
 * });
 * server.close();
 * ```
 */
export function toRequest(incoming: IncomingMessage, origin: string): Request {
  const raw = incoming.rawHeaders;
  let host: string | undefined;
  let framed = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const length = name.length;
    if (length === 4 && host === undefined && name.toLowerCase() === "host") {
      host = raw[i + 1];
    } else if (
      (length === 14 && name.toLowerCase() === "content-length") ||
      (length === 17 && name.toLowerCase() === "transfer-encoding")
    ) {
      framed = true;
    }
  }
  const method = incoming.method ?? "GET";
  const url = requestUrl(incoming.url ?? "/", host, origin);
  let request: Request;
  if (method === "GET") {
    request = new Request(url); // No init dictionary to convert: measurably faster on Node.
  } else {
    const init: StreamingRequestInit = { method };
    if (framed && method !== "HEAD") {
      init.body = bodyStream(incoming);
      init.duplex = "half";
    }
    request = new Request(url, init);
  }
  // Appending to the request's own Headers costs about half of passing them in `init`.
  const headers = request.headers;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return request;
}

function requestUrl(target: string, host: string | undefined, origin: string): string {
  if (target.charCodeAt(0) !== 47 /* "/" */) {
    if (target.startsWith("http://") || target.startsWith("https://")) return target;
    throw new TypeError(`Invalid request target: ${target}`);
  }
  if (host === undefined || host === "") return origin + target;
  if (!HOST.test(host)) throw new TypeError(`Invalid Host header: ${host}`);
  return (origin.startsWith("https:") ? "https://" : "http://") + host + target;
}

/** The request body; `highWaterMark: 0` keeps `incoming` paused until someone reads. */
function bodyStream(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller): void {
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        if (error === undefined) controller.close();
        else controller.error(error);
      };
      // A paused, half-read body would stall the keep-alive connection on all three runtimes.
      discarders.set(incoming, () => {
        finish(new Error("The response was sent before the request body was read"));
        incoming.resume();
      });
      incoming.pause();
      incoming.on("data", (chunk: Uint8Array) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
      });
      incoming.on("end", () => finish());
      incoming.on("error", (error) => finish(error));
      incoming.on("close", () => finish(new Error("The client aborted the request body")));
    },
    pull(): void {
      incoming.resume();
    },
    cancel(): void {
      settled = true;
      incoming.resume(); // Discard the rest; the connection stays usable.
    },
  }, { highWaterMark: 0 });
}

/**
 * Writes `response` to `outgoing`: status, status text, headers (each `Set-Cookie` on its own
 * line), then the body with backpressure, then `end()`.
 *
 * A body already in memory (one chunk, e.g. `new Response("text")`) goes out in one write with
 * a `Content-Length`; a stream is sent chunked, headers first, without waiting for its first
 * chunk. `HEAD`, `204` and `304` get no body, and the unread body is cancelled. If the client
 * goes away first, the body stream is cancelled (its `cancel()` runs). If the body errors after
 * the headers were sent, the connection is destroyed so the client sees a truncated response;
 * before, a `500` is sent. A response the handler already wrote to `outgoing` itself is left
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
 * import { writeResponse } from "./node_bridge.ts";
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
export async function writeResponse(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
): Promise<WriteOutcome> {
  const body = response.body;
  const status = response.status;
  if (outgoing.headersSent || outgoing.destroyed) {
    body?.cancel().catch(ignore);
    return settledBy(outgoing);
  }
  if (body === null || options.head || status === 204 || status === 304) {
    body?.cancel().catch(ignore);
    const length = body === null && !options.head && status !== 204 && status !== 304 ? 0 : -1;
    return tryWrite(outgoing, () => writeHead(response, outgoing, options, length).end());
  }
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = body.getReader();
  } catch {
    return failBeforeHead(outgoing); // The body is locked.
  }
  try {
    let next = peek(reader.read());
    await settled(next);
    if (outgoing.destroyed) return cancel(reader);
    if (next.failed) await next.promise; // Throws: answered with a 500 below.
    const first = next.result;
    if (first === undefined) {
      writeHead(response, outgoing, options, -1).flushHeaders();
    } else if (first.done) {
      return tryWrite(outgoing, () => writeHead(response, outgoing, options, 0).end());
    } else {
      const chunk = first.value;
      next = peek(reader.read());
      await settled(next);
      if (outgoing.destroyed) return cancel(reader);
      if (next.result?.done === true && chunk instanceof Uint8Array) {
        writeHead(response, outgoing, options, chunk.byteLength).end(chunk);
        return finished(outgoing);
      }
      writeHead(response, outgoing, options, -1).write(chunk);
    }
    return await pipe(reader, next.promise, outgoing);
  } catch (error) {
    reader.cancel(error).catch(ignore);
    if (outgoing.destroyed) return "cancelled";
    if (!outgoing.headersSent) return failBeforeHead(outgoing);
    outgoing.destroy();
    return "errored";
  }
}

/**
 * Sends a small plain-text response without building a `Response`, for hot-path answers such
 * as a `503` during shutdown. Sets `Content-Type` and `Content-Length`. For a `HEAD` request
 * the runtime drops the body itself (checked on all three).
 *
 * @param outgoing The Node response to write to.
 * @param status The status code.
 * @param body The text of the body.
 * @param options `keepAlive: false` for `Connection: close`; extra `headers`.
 *
 * @example Refuse a request while shutting down
 * ```ts
 * import { createServer } from "node:http";
 * import { writePlain } from "./node_bridge.ts";
 *
 * const server = createServer((_incoming, outgoing) => {
 *   writePlain(outgoing, 503, "Shutting down\n", {
 *     keepAlive: false,
 *     headers: { "retry-after": "1" },
 *   });
 * });
 * server.close();
 * ```
 */
export function writePlain(
  outgoing: ServerResponse,
  status: number,
  body: string,
  options: PlainOptions,
): void {
  const bytes = encoder.encode(body);
  const fields: Record<string, string | number> = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": bytes.byteLength,
    ...options.headers,
  };
  if (!options.keepAlive) {
    outgoing.shouldKeepAlive = false;
    fields["connection"] = "close";
  }
  outgoing.writeHead(status, fields).end(bytes);
}

/** `writeHead` from the response; `length >= 0` adds a `Content-Length` unless one is set. */
function writeHead(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
  length: number,
): ServerResponse {
  const fields: string[] = [];
  let framed = false;
  const keepAlive = options.keepAlive;
  // Iteration yields each Set-Cookie apart (Fetch "sort and combine"), on all three runtimes.
  response.headers.forEach((value, name) => {
    if (name === "content-length" || name === "transfer-encoding") framed = true;
    else if (name === "connection" && !keepAlive) return;
    fields.push(name, value);
  });
  if (length >= 0 && !framed) fields.push("content-length", String(length));
  if (!keepAlive) {
    outgoing.shouldKeepAlive = false;
    fields.push("connection", "close");
  }
  const text = response.statusText;
  if (text === "") return outgoing.writeHead(response.status, fields);
  return outgoing.writeHead(response.status, text, fields);
}

/** Streams the rest of the body; `next` is the read already under way. */
async function pipe(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  next: Promise<Chunk>,
  outgoing: ServerResponse,
): Promise<WriteOutcome> {
  let gone = false;
  let wake = ignore;
  const onClose = (): void => {
    gone = true;
    wake();
    reader.cancel().catch(ignore);
  };
  const onDrain = (): void => wake();
  outgoing.on("close", onClose);
  try {
    for (;;) {
      const { done, value } = await next;
      if (outgoing.destroyed && !gone) onClose(); // Closed before the listener saw it.
      if (gone) return "cancelled";
      if (done) {
        outgoing.end();
        return finished(outgoing);
      }
      if (!outgoing.write(value)) {
        outgoing.on("drain", onDrain);
        await new Promise<void>((resolve) => wake = resolve);
        outgoing.off("drain", onDrain);
        if (gone) return "cancelled";
      }
      next = reader.read();
    }
  } finally {
    outgoing.off("close", onClose);
  }
}

/** A read whose outcome can be looked at synchronously once it has settled. */
interface Peek {
  readonly promise: Promise<Chunk>;
  result: Chunk | undefined;
  failed: boolean;
}

function peek(promise: Promise<Chunk>): Peek {
  const read: Peek = { promise, result: undefined, failed: false };
  promise.then((result) => read.result = result, () => read.failed = true);
  return read;
}

/** Waits a few microtasks for `read`; cheaper than racing it, which counts on the hot path. */
async function settled(read: Peek): Promise<void> {
  for (let i = 0; i < SOON && read.result === undefined && !read.failed; i++) await undefined;
}

/** After `end()`: lets the rest of a half-read request body flow away. */
function finished(outgoing: ServerResponse): "finished" {
  const incoming: IncomingMessage | undefined = outgoing.req;
  if (incoming !== undefined) discarders.get(incoming)?.();
  return "finished";
}

/** The outcome of a response written by someone else: once `outgoing` finishes or closes. */
function settledBy(outgoing: ServerResponse): Promise<WriteOutcome> {
  if (outgoing.writableFinished) return Promise.resolve(finished(outgoing));
  if (outgoing.destroyed) return Promise.resolve("cancelled");
  return new Promise((resolve) => {
    outgoing.once("finish", () => resolve(finished(outgoing)));
    outgoing.once("close", () => resolve("cancelled"));
  });
}

function cancel(reader: ReadableStreamDefaultReader<Uint8Array>): "cancelled" {
  reader.cancel().catch(ignore);
  return "cancelled";
}

function tryWrite(outgoing: ServerResponse, write: () => void): WriteOutcome {
  try {
    write();
    return finished(outgoing);
  } catch {
    outgoing.destroy();
    return "errored";
  }
}

function failBeforeHead(outgoing: ServerResponse): WriteOutcome {
  tryWrite(outgoing, () => writePlain(outgoing, 500, "", { keepAlive: false }));
  return "errored";
}
