/**
 * The request half of the Node bridge: {@linkcode toRequest} turns an `IncomingMessage` into a
 * native `Request` (no lookalike object: `new Request(request)`, `fetch(request)` and
 * `request.clone()` work as with any other), and {@linkcode discardBody} lets a half-read
 * request body flow away once its response is sent.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { CANONICAL_HOST, canonicalPath, HOST } from "./request_url.ts";

// The Fetch standard requires `duplex` for a streamed request body; lib.dom lacks it.
interface StreamingRequestInit extends RequestInit {
  duplex?: "half";
}

/** How to discard the rest of a streamed request body once its response is sent. */
const discarders = new WeakMap<IncomingMessage, () => void>();

/**
 * Builds a native Fetch `Request` from a Node request, without reading the body (the bridge's
 * path when the globals are not replaced).
 *
 * The URL uses the `Host` header, or `origin` when there is none; an absolute-form target
 * (`GET https://host/path`, from proxies) becomes `http://<Host>/path`. Headers come from `rawHeaders`, so
 * repeated fields are all kept. The body is `null` for `GET`, `HEAD` and requests without
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
 * import { toRequest } from "./node_request.ts";
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
  if (!framed && incoming.httpVersionMajor === 2) framed = http2Body(incoming);
  const method = incoming.method ?? "GET";
  if (host === undefined) requireHost(incoming);
  const url = requestUrl(incoming.url ?? "/", host, origin);
  let request: Request;
  if (method === "GET" && signal === undefined) {
    request = new Request(url); // No init dictionary to convert: measurably faster on Node.
  } else {
    const init: StreamingRequestInit = { method };
    if (signal !== undefined) init.signal = signal;
    if (framed && method !== "HEAD" && method !== "GET") {
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
 * The URL of a request, as {@linkcode toRequest} builds it, but as a string only: exactly what
 * the `URL` parser would make of it (checked by pattern; parsed when the pattern fails).
 *
 * @param incoming The Node request.
 * @param origin The server's origin without a trailing slash.
 * @returns The URL.
 * @throws {TypeError} When the `Host` header or the target cannot form a URL.
 */
export function urlOf(incoming: IncomingMessage, origin: string): string {
  const raw = incoming.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && isHost(name)) {
      host = raw[i + 1];
      break;
    }
  }
  const target = incoming.url ?? "/";
  // The common case, an origin-form target with a Host, checked on the strings the parser
  // gave: no substring of the joined URL, and no lower-cased copy of the header name (each
  // cost a call into the engine's runtime per request).
  if (target.charCodeAt(0) === 47 /* "/" */ && host !== undefined && host !== "") {
    const scheme = origin.startsWith("https:") ? "https://" : "http://";
    if (host !== canonicalHost) {
      if (!HOST.test(host)) throw new TypeError(`Invalid Host header: ${host}`);
      if (!CANONICAL_HOST.test(host)) return new URL(scheme + host + target).href;
      canonicalHost = host; // Requests on a connection, and often all of them, repeat the Host.
    }
    const url = scheme + host + target;
    return canonicalPath(target) ? url : new URL(url).href;
  }
  if (host === undefined) requireHost(incoming);
  const url = requestUrl(target, host, origin);
  const slash = url.indexOf("/", 8);
  if (!url.startsWith("http://") || slash === -1) return new URL(url).href;
  const authority = url.slice(7, slash);
  if (authority !== canonicalHost) {
    if (!CANONICAL_HOST.test(authority)) return new URL(url).href;
    canonicalHost = authority;
  }
  return canonicalPath(url.slice(slash)) ? url : new URL(url).href;
}

/** Whether a four-letter field name is `Host`, in any case. */
function isHost(name: string): boolean {
  return (name.charCodeAt(0) | 0x20) === 104 && (name.charCodeAt(1) | 0x20) === 111 &&
    (name.charCodeAt(2) | 0x20) === 115 && (name.charCodeAt(3) | 0x20) === 116;
}

/**
 * An HTTP/1.1 request without `Host` gets `400` (RFC 9112 §3.2). Node's and Deno's `node:http`
 * answer it so themselves; Bun's hands it to the listener (Bun 1.4.5, no upstream issue found;
 * regression test in tests/contract/cases_url.ts).
 */
function requireHost(incoming: IncomingMessage): void {
  if (incoming.httpVersionMajor === 1 && incoming.httpVersionMinor === 1) {
    throw new TypeError("Missing Host header");
  }
}

let validHost = "";
let canonicalHost = "";

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
 * The request's URL. An absolute-form target (`GET http://host/path`, as sent to proxies) is
 * rebuilt from its path as `http://<Host>/path`: the connection is plaintext, so the URL never
 * says `https:`, and the host is the `Host` header as on Bun (whose `request.url` cannot be
 * told apart) and on Deno (whose adapter rewrites it the same way).
 */
function requestUrl(target: string, host: string | undefined, origin: string): string {
  if (target.charCodeAt(0) !== 47 /* "/" */) {
    let authority = -1;
    if (target.startsWith("http://")) authority = 7;
    else if (target.startsWith("https://")) authority = 8;
    if (authority === -1) throw new TypeError(`Invalid request target: ${target}`);
    const slash = target.indexOf("/", authority);
    const query = target.indexOf("?", authority);
    const end = slash === -1 ? query : query === -1 ? slash : Math.min(slash, query);
    if (host === undefined || host === "") {
      host = target.slice(authority, end === -1 ? undefined : end);
    }
    target = end === -1
      ? "/"
      : target.charCodeAt(end) === 63
      ? "/" + target.slice(end)
      : target.slice(end);
  }
  if (host === undefined || host === "") return origin + target;
  if (host !== validHost) {
    if (!HOST.test(host)) throw new TypeError(`Invalid Host header: ${host}`);
    validHost = host; // Requests on a connection, and often all of them, repeat the Host.
  }
  return (origin.startsWith("https:") ? "https://" : "http://") + host + target;
}

/**
 * The request body; `highWaterMark: 0` keeps `incoming` paused until someone reads. A body
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
