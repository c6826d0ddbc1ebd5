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

/** Options of {@linkcode writeResponse} and {@linkcode writePlain}. */
export interface WriteOptions {
  /** The request was `HEAD`: send the headers only. */
  head: boolean;
  /** `false` sends `Connection: close` and closes the connection after this response. */
  keepAlive: boolean;
}

// `duplex` is required by the Fetch standard for streamed request bodies; lib.dom lacks it.
interface StreamingRequestInit extends RequestInit {
  duplex?: "half";
}

type Chunk = ReadableStreamReadResult<Uint8Array>;
/** Microtasks a read may take and still count as already available (one to three seen). */
const SOON = 8;
const HOST = /^(?:[\w.-]+|\[[\dA-Fa-f:.]+\])(?::\d{1,5})?$/;
const encoder = new TextEncoder();
const ignore = (): void => {};

/**
 * Builds a Fetch `Request` from a Node request, without reading the body.
 *
 * The URL uses the `Host` header, or `origin` when there is none; an absolute-form target
 * (`GET http://host/path`, from proxies) is used as it is. Headers come from `rawHeaders`, so
 * repeated fields are all kept. The body is `null` for `GET`, `HEAD` and requests that carry
 * none (no `Content-Length`, no `Transfer-Encoding`); otherwise it is a stream fed from
 * `incoming` with backpressure, which errors if the client aborts mid-body. Cancelling it
 * discards the rest of the upload without closing the connection.
 *
 * @param incoming The Node request.
 * @param origin The server's origin, e.g. `"http://127.0.0.1:8000"`; its scheme is used.
 * @returns The request. It has no `signal` of its own: the caller owns cancellation.
 * @throws {TypeError} When the `Host` header or the request target cannot form a URL (answer 400).
 *
 * @example Serve a fetch handler with node:http
 * ```ts
 * import { createServer } from "node:http";
 * import { toRequest, writeResponse } from "./node_bridge.ts";
 *
 * const server = createServer((incoming, outgoing) => {
 *   const request = toRequest(incoming, "http://127.0.0.1:8000");
 *   void writeResponse(new Response(`Hello ${request.url}`), outgoing, {
 *     head: request.method === "HEAD",
 *     keepAlive: true,
 *   });
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
  const init: StreamingRequestInit = { method };
  if (framed && method !== "GET" && method !== "HEAD") {
    init.body = bodyStream(incoming);
    init.duplex = "half";
  }
  const request = new Request(requestUrl(incoming.url ?? "/", host, origin), init);
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

/**
 * The request body as a stream. `highWaterMark: 0` keeps `incoming` paused until someone reads,
 * so a body nobody reads is left to Node, which discards it after the response.
 */
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
 * A body that is already in memory (one chunk, e.g. `new Response("text")`) goes out in one
 * write with a `Content-Length`; a stream is sent chunked, headers first. No body is sent for
 * `HEAD` or a `204`/`304`; the unread body is cancelled. If the client goes away before the end,
 * the body stream is cancelled (its `cancel()` runs). If the body stream errors after the
 * headers were sent, the connection is destroyed so the client sees a truncated response; if
 * it errors before, a `500` is sent instead. It does not touch the request or its body.
 *
 * @param response The response to send.
 * @param outgoing The Node response to write to; nothing must have been written to it yet.
 * @param options `head`: the request was `HEAD`; `keepAlive: false` sends `Connection: close`
 * and closes the connection after this response.
 * @returns How it ended; it never rejects.
 *
 * @example Answer with a stream
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
  if (body === null || options.head || status === 204 || status === 304) {
    if (body !== null) body.cancel().catch(ignore);
    if (outgoing.destroyed) return "cancelled";
    const length = body === null && !options.head && status !== 204 && status !== 304 ? 0 : -1;
    return tryWrite(outgoing, () => writeHead(response, outgoing, options, length).end());
  }
  if (outgoing.destroyed) {
    body.cancel().catch(ignore);
    return "cancelled";
  }
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = body.getReader();
  } catch {
    return failBeforeHead(outgoing, options);
  }
  try {
    let next = peek(reader.read());
    await settled(next);
    const first = next.result;
    if (first !== undefined) {
      if (first.done) {
        return tryWrite(outgoing, () => writeHead(response, outgoing, options, 0).end());
      }
      const chunk = first.value;
      next = peek(reader.read());
      await settled(next);
      if (next.result?.done === true && chunk instanceof Uint8Array) {
        if (outgoing.destroyed) return "cancelled";
        writeHead(response, outgoing, options, chunk.byteLength).end(chunk);
        return "finished";
      }
      writeHead(response, outgoing, options, -1).write(chunk);
    } else {
      writeHead(response, outgoing, options, -1).flushHeaders();
    }
    return await pipe(reader, next.promise, outgoing);
  } catch (error) {
    reader.cancel(error).catch(ignore);
    if (outgoing.destroyed) return "cancelled";
    if (!outgoing.headersSent) return failBeforeHead(outgoing, options);
    outgoing.destroy();
    return "errored";
  }
}

/**
 * Sends a small plain-text response without building a `Response`: for hot-path answers such
 * as `503` during shutdown or a readiness check. Sets `Content-Type` and `Content-Length`;
 * `headers` may add or override fields. Omits the body for `HEAD`.
 *
 * @param outgoing The Node response to write to; nothing must have been written to it yet.
 * @param status The status code.
 * @param body The text of the body.
 * @param options As for {@linkcode writeResponse}, plus extra `headers`.
 *
 * @example Refuse a request while shutting down
 * ```ts
 * import { createServer } from "node:http";
 * import { writePlain } from "./node_bridge.ts";
 *
 * const server = createServer((incoming, outgoing) => {
 *   writePlain(outgoing, 503, "Shutting down\n", {
 *     head: incoming.method === "HEAD",
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
  options: WriteOptions & { headers?: Readonly<Record<string, string>> },
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
  outgoing.writeHead(status, fields);
  if (options.head) outgoing.end();
  else outgoing.end(bytes);
}

/**
 * Calls `writeHead` with the response's status and headers. `length` adds a `Content-Length`
 * unless the response sets its own framing; `-1` adds none.
 */
function writeHead(
  response: Response,
  outgoing: ServerResponse,
  options: WriteOptions,
  length: number,
): ServerResponse {
  const fields: string[] = [];
  let framed = false;
  const keepAlive = options.keepAlive;
  // Iteration yields each Set-Cookie on its own (Fetch "sort and combine"), on all three runtimes.
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
  if (text === "") outgoing.writeHead(response.status, fields);
  else outgoing.writeHead(response.status, text, fields);
  return outgoing;
}

/** Streams the rest of the body; `next` is the read already under way. */
async function pipe(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  next: Promise<ReadableStreamReadResult<Uint8Array>>,
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
  if (outgoing.destroyed) onClose(); // It may have closed while the first reads were awaited.
  try {
    for (;;) {
      const { done, value } = await next;
      if (gone || outgoing.destroyed) return "cancelled";
      if (done) {
        outgoing.end();
        return "finished";
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

/** A read whose result can be looked at synchronously once it has arrived. */
interface Peek {
  readonly promise: Promise<Chunk>;
  result: Chunk | undefined;
}

function peek(promise: Promise<Chunk>): Peek {
  const read: Peek = { promise, result: undefined };
  promise.then((result) => read.result = result, ignore);
  return read;
}

/**
 * Waits a few microtasks for `read` to arrive: a body already in memory takes one to three.
 * Cheaper than `Promise.race` with a timer-like promise, which matters on the hot path.
 */
async function settled(read: Peek): Promise<void> {
  for (let i = 0; i < SOON && read.result === undefined; i++) await undefined;
}

function tryWrite(outgoing: ServerResponse, write: () => void): WriteOutcome {
  try {
    write();
    return "finished";
  } catch {
    outgoing.destroy();
    return "errored";
  }
}

function failBeforeHead(outgoing: ServerResponse, options: WriteOptions): WriteOutcome {
  if (outgoing.destroyed) return "cancelled";
  tryWrite(outgoing, () => writePlain(outgoing, 500, "", { ...options, keepAlive: false }));
  return "errored";
}
