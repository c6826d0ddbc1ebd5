/**
 * The request half of the Node bridge: {@linkcode toRequest} turns an `IncomingMessage` into a
 * native `Request` (no lookalike object: `new Request(request)`, `fetch(request)` and
 * `request.clone()` work as with any other), and {@linkcode discardBody} lets a half-read
 * request body flow away once its response is sent.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { urlOf } from "./url.ts";

/** A `RequestInit` with a streamed body: the Fetch standard requires `duplex`; lib.dom lacks it. */
export interface StreamingRequestInit extends RequestInit {
  duplex?: "half";
}

/** How to discard the rest of a streamed request body once its response is sent. */
const discarders = new WeakMap<IncomingMessage, () => void>();

/**
 * Builds a native Fetch `Request` from a Node request, without reading the body (the bridge's
 * path when the globals are not replaced).
 *
 * The URL is `urlOf`'s (`url.ts`): the `Host` header, or `origin` when there is none; an
 * absolute-form target (`GET https://host/path`, from proxies) becomes `http://<Host>/path`.
 * Headers come from `rawHeaders`, so repeated fields are all kept. The body is `null` for `GET`, `HEAD` and requests without
 * `Content-Length` or `Transfer-Encoding`; otherwise a stream fed from `incoming` that pauses it
 * while nobody reads and errors if the client aborts mid-body. Whatever is left unread when the
 * response is written is discarded, so the connection can carry the next request.
 * The request's `signal` follows `signal` (the caller aborts it when the client leaves).
 *
 * @param incoming The Node request.
 * @param origin The server's origin without a trailing slash, e.g. `"http://127.0.0.1:8000"`.
 * @param signal What the request's `signal` follows.
 * @returns The request.
 * @throws {TypeError} When the `Host` header or the target cannot form a URL, or the method is
 * one Fetch refuses (`CONNECT`, `TRACE`, `TRACK`): answer `400`.
 *
 * @example Build a request in a node:http handler
 * ```ts
 * import { createServer } from "node:http";
 * import { toRequest } from "./request.ts";
 *
 * const server = createServer((incoming, outgoing) => {
 *   const request = toRequest(incoming, "http://127.0.0.1:8000");
 *   outgoing.end(`${request.method} ${request.url}`);
 * });
 * server.close();
 * ```
 */
export function toRequest(
  incoming: IncomingMessage,
  origin: string,
  signal?: AbortSignal,
): Request {
  const raw = incoming.rawHeaders;
  let framed = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const length = name.length;
    if (
      (length === 14 && name.toLowerCase() === "content-length") ||
      (length === 17 && name.toLowerCase() === "transfer-encoding")
    ) {
      framed = true;
    }
  }
  if (!framed && incoming.httpVersionMajor === 2) framed = http2Body(incoming);
  const method = incoming.method ?? "GET";
  const url = urlOf(incoming, origin);
  let request: Request;
  if (method === "GET" && signal === undefined) {
    request = new Request(url); // No init dictionary to convert (bench/PROFILES.md).
  } else {
    const init: StreamingRequestInit = { method };
    if (signal !== undefined) init.signal = signal;
    if (framed && method !== "HEAD" && method !== "GET") {
      init.body = bodyStream(incoming);
      init.duplex = "half";
    }
    request = new Request(url, init);
  }
  // Appended to the request's own Headers, not passed in `init` (bench/PROFILES.md).
  const headers = request.headers;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return request;
}

/**
 * Whether an HTTP/2 request has a body: HTTP/2 needs no framing field, so any stream the
 * client did not end with its headers has one (possibly empty).
 *
 * @param incoming The Node request (Node's `Http2ServerRequest` on HTTP/2).
 * @returns `false` for an HTTP/1.1 request.
 */
export function http2Body(incoming: IncomingMessage): boolean {
  const stream = (incoming as { stream?: { endAfterHeaders?: boolean } }).stream;
  return stream?.endAfterHeaders === false;
}

/** Methods the Fetch API refuses to represent: the bridge answers them `400`. */
export const REFUSED_METHODS: ReadonlySet<string> = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * After the response to `incoming` was written: lets the rest of a half-read request body flow
 * away, and errors its stream for a handler still reading it.
 *
 * @param incoming The Node request.
 */
export function discardBody(incoming: IncomingMessage): void {
  discarders.get(incoming)?.();
}

/**
 * The request body; `highWaterMark: 0` keeps `incoming` paused until someone reads. A body
 * already read from `incoming` by someone else errors the stream with a `TypeError`. A body
 * that fully arrived stays readable after the client disconnected: Node then destroys
 * `incoming` with `Error: aborted`, but `incoming.complete` is set and `read()` still returns
 * what it buffered (Deno, Bun and `@hono/node-server` return such a body too).
 *
 * @param incoming The Node request.
 * @returns The stream.
 */
export function bodyStream(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller): void {
      // Read from `incoming` before the body was asked for (`ctx.incoming.on("data")`, `for
      // await`): the bytes are gone. The platform's error for a used body, never an empty one.
      if (incoming.readableDidRead || incoming.readableEnded) {
        settled = true;
        controller.error(
          new TypeError("Body is unusable: the request body was already read from ctx.incoming"),
        );
        return;
      }
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
      const rest = (): boolean => {
        if (!incoming.complete || settled) return false;
        settled = true; // `read()` also emits 'data': the listener above must not enqueue it.
        for (let chunk = incoming.read(); chunk !== null; chunk = incoming.read()) {
          const bytes = chunk as Uint8Array;
          controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        }
        controller.close();
        return true;
      };
      incoming.on("end", () => finish());
      incoming.on("error", (error) => rest() || finish(error));
      const aborted = (): void => {
        rest() || finish(new Error("The client aborted the request body"));
      };
      incoming.on("close", aborted);
      // Built after the client left (a lazy request read late): no event will come.
      if (incoming.destroyed) aborted();
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
