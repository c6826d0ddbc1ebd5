/**
 * The request the Node bridge hands out when the globals are replaced (`globals.ts`):
 * {@linkcode LazyRequest} reads method, URL and headers from the `IncomingMessage` on first use
 * and builds a native `Request` only when something else is needed. {@linkcode LameduckRequest}
 * is the global `Request` then: it unwraps a lazy request given as input.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { delegateToNative } from "./native.ts";
import { bodyStream, http2Body, type StreamingRequestInit } from "./request.ts";

/** The runtime's own `Request`, whatever the global is now. */
export const NativeRequest: typeof Request = globalThis.Request;

/** A request received by the bridge, read lazily from the `IncomingMessage`. */
export class LazyRequest {
  #incoming: IncomingMessage;
  #method: string;
  #url: string;
  #headers: Headers | undefined;
  #controller: AbortController | undefined;
  #reason: unknown;
  #native: Request | undefined;

  constructor(incoming: IncomingMessage, method: string, url: string) {
    this.#incoming = incoming;
    this.#method = method;
    this.#url = url;
  }

  /** The native `Request` it stands for, built on first call. */
  static native(request: LazyRequest): Request {
    return request.#native ??= request.#build();
  }

  /** The client left before the response ended: aborts `signal`. */
  static abort(request: LazyRequest, reason: unknown): void {
    if (request.#reason !== undefined) return;
    request.#reason = reason;
    request.#controller?.abort(reason);
  }

  get method(): string {
    return this.#method;
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    return this.#headers ??= headersOf(this.#incoming.rawHeaders);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  #build(): Request {
    const method = this.#method;
    const init: StreamingRequestInit = { method, headers: this.headers, signal: this.signal };
    const fields = this.#incoming.headers;
    const framed = fields["content-length"] !== undefined ||
      fields["transfer-encoding"] !== undefined || http2Body(this.#incoming);
    if (framed && method !== "GET" && method !== "HEAD") {
      init.body = bodyStream(this.#incoming);
      init.duplex = "half";
    }
    return new NativeRequest(this.#url, init);
  }
}

// Everything else a Request has is the native request's.
delegateToNative(LazyRequest.prototype, NativeRequest.prototype, (r) => LazyRequest.native(r));

function headersOf(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/** The global `Request` while replaced: unwraps a {@linkcode LazyRequest} given as input. */
export class LameduckRequest extends NativeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(input instanceof LazyRequest ? LazyRequest.native(input) : input, init);
  }

  /**
   * Every native request, and every lazy one, is an instance. A subclass inherits this static
   * method: for it, the ordinary prototype check (see `LameduckResponse`).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // The native class has the ordinary check.
    if (this === LameduckRequest) return value instanceof NativeRequest;
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
Object.setPrototypeOf(LazyRequest.prototype, LameduckRequest.prototype);
