/**
 * The `overrideGlobals` option of the Node bridge: a global `Request`, `Response` and `fetch`
 * that let the bridge hand out a {@linkcode LazyRequest} (fields read from the
 * `IncomingMessage` on first use, a native `Request` built only when something needs one) and
 * write a {@linkcode LightResponse} (a `new Response(string | bytes | null)` whose body is
 * written without web streams). The same idea as `@hono/node-server`'s default, with three
 * differences: `fetch(request)` and `new Request(request)` work with the lazy request (the
 * replaced `fetch` and `Request` unwrap it); `x instanceof Response` stays true for native
 * responses (a `fetch()` result), so a proxy can return one; and it is an option of `serve()`.
 *
 * Both objects are instances of the native classes too (`request instanceof Request` holds with
 * or without the replacement), and turn into a native object on the first use the fast path
 * does not cover (`body`, `clone()`, `text()`, ...), so they behave as the platform's own.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { bodyStream } from "./node_request.ts";

// Taken at load, before any replacement (the adapter module loads before `install()`).
const NativeRequest: typeof Request = globalThis.Request;
/** The runtime's own `Response`, whatever the global is now. */
export const NativeResponse: typeof Response = globalThis.Response;
const nativeFetch: typeof fetch = globalThis.fetch;
/** The native `status` getter: throws for an object without a native response's state. */
export const nativeResponseStatus: () => number = Object.getOwnPropertyDescriptor(
  NativeResponse.prototype,
  "status",
)!.get!;

// The Fetch standard requires `duplex` for a streamed request body; lib.dom lacks it.
interface StreamingRequestInit extends RequestInit {
  duplex?: "half";
}

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
      fields["transfer-encoding"] !== undefined;
    if (framed && method !== "GET" && method !== "HEAD") {
      init.body = bodyStream(this.#incoming);
      init.duplex = "half";
    }
    return new NativeRequest(this.#url, init);
  }
}

// Everything else a Request has is the native request's.
for (const name of Object.getOwnPropertyNames(NativeRequest.prototype)) {
  if (name === "constructor" || Object.hasOwn(LazyRequest.prototype, name)) continue;
  const descriptor = Object.getOwnPropertyDescriptor(NativeRequest.prototype, name)!;
  if (descriptor.get) {
    const get = descriptor.get;
    Object.defineProperty(LazyRequest.prototype, name, {
      get(this: LazyRequest) {
        return get.call(LazyRequest.native(this));
      },
      configurable: true,
    });
  } else if (typeof descriptor.value === "function") {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    Object.defineProperty(LazyRequest.prototype, name, {
      value(this: LazyRequest, ...args: unknown[]) {
        return method.apply(LazyRequest.native(this), args);
      },
      configurable: true,
      writable: true,
    });
  }
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");
type Inspect = (value: unknown, options: unknown) => string;
// Node's own inspection reads internal state the lazy object lacks: show the native one.
Object.defineProperty(LazyRequest.prototype, INSPECT, {
  value(this: LazyRequest, _depth: number, options: unknown, inspect: Inspect): string {
    return inspect(LazyRequest.native(this), options);
  },
});

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

  /** Every native request, and every lazy one, is an instance. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof NativeRequest; // The native class has the ordinary check.
  }
}
Object.setPrototypeOf(LazyRequest.prototype, LameduckRequest.prototype);

/** What the bridge writes without a native `Response`. */
export interface LightParts {
  status: number;
  statusText: string;
  /** `undefined`: only the default `Content-Type` of a text body. */
  headers: Headers | undefined;
  body: string | Uint8Array | null;
}

/**
 * The `Content-Type` the runtime's `Response` gives a text body: Node and Deno set
 * `text/plain;charset=UTF-8` as the Fetch standard says, Bun 1.4.5 sets none (`null`).
 */
export const TEXT_TYPE: string | null = new NativeResponse("").headers.get("content-type");
const STATUS_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A response made with a string, bytes or no body; native on first use beyond the head. */
export class LightResponse {
  #status: number;
  #statusText: string;
  #headers: Headers | undefined;
  #body: string | Uint8Array | null;
  #native: Response | undefined;

  constructor(
    body: string | Uint8Array | null,
    status: number,
    statusText: string,
    headers?: Headers,
  ) {
    this.#body = body;
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = headers;
  }

  /** The native `Response` it stands for, built on first call. */
  static native(response: LightResponse): Response {
    if (response.#native) return response.#native;
    return response.#native = new NativeResponse(response.#body as BodyInit | null, {
      status: response.#status,
      statusText: response.#statusText,
      headers: response.headers,
    });
  }

  /** The parts to write, or `undefined` once a native response took over. */
  static parts(response: LightResponse): LightParts | undefined {
    if (response.#native) return undefined;
    return {
      status: response.#status,
      statusText: response.#statusText,
      headers: response.#headers,
      body: response.#body,
    };
  }

  get status(): number {
    return this.#status;
  }

  get statusText(): string {
    return this.#statusText;
  }

  get ok(): boolean {
    return this.#status >= 200 && this.#status < 300;
  }

  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    if (this.#headers === undefined) {
      this.#headers = new Headers();
      if (typeof this.#body === "string" && TEXT_TYPE !== null) {
        this.#headers.set("content-type", TEXT_TYPE);
      }
    }
    return this.#headers;
  }
}

for (const name of Object.getOwnPropertyNames(NativeResponse.prototype)) {
  if (name === "constructor" || Object.hasOwn(LightResponse.prototype, name)) continue;
  const descriptor = Object.getOwnPropertyDescriptor(NativeResponse.prototype, name)!;
  if (descriptor.get) {
    const get = descriptor.get;
    Object.defineProperty(LightResponse.prototype, name, {
      get(this: LightResponse) {
        return get.call(LightResponse.native(this));
      },
      configurable: true,
    });
  } else if (typeof descriptor.value === "function") {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    Object.defineProperty(LightResponse.prototype, name, {
      value(this: LightResponse, ...args: unknown[]) {
        return method.apply(LightResponse.native(this), args);
      },
      configurable: true,
      writable: true,
    });
  }
}

Object.defineProperty(LightResponse.prototype, INSPECT, {
  value(this: LightResponse, _depth: number, options: unknown, inspect: Inspect): string {
    return inspect(LightResponse.native(this), options);
  },
});

/**
 * The global `Response` while replaced: `new Response(body, init)` with a string, a
 * `Uint8Array` or no body and a valid `init` makes a {@linkcode LightResponse}; anything else
 * (streams, blobs, form data, subclasses, invalid values that must throw) a native one.
 */
export class LameduckResponse extends NativeResponse {
  constructor(body?: BodyInit | null, init?: ResponseInit) {
    if (new.target === LameduckResponse) {
      const light = lightResponse(body, init);
      if (light !== undefined) return light as unknown as LameduckResponse;
    }
    super(body, init);
  }

  /** Every native response, and every light one, is an instance. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof NativeResponse; // Checked on every request: keep it this plain.
  }
}
Object.setPrototypeOf(LightResponse.prototype, LameduckResponse.prototype);

function lightResponse(body: unknown, init: ResponseInit | undefined): LightResponse | undefined {
  let content: string | Uint8Array | null;
  if (body === undefined || body === null) content = null;
  else if (typeof body === "string") content = body;
  else if (body instanceof Uint8Array) content = body.slice(); // The Fetch API copies bytes.
  else return undefined;
  if (init === undefined) return new LightResponse(content, 200, "");
  if (init === null || typeof init !== "object") return undefined;
  const { status = 200, statusText = "", headers } = init;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    return undefined; // The native constructor throws the platform's RangeError.
  }
  if (content !== null && (status === 204 || status === 205 || status === 304)) return undefined;
  if (typeof statusText !== "string" || !STATUS_TEXT.test(statusText)) return undefined;
  if (headers === undefined) return new LightResponse(content, status, statusText);
  const fields = new Headers(headers); // Throws the platform's TypeError for a bad field.
  if (typeof content === "string" && TEXT_TYPE !== null && !fields.has("content-type")) {
    fields.set("content-type", TEXT_TYPE);
  }
  return new LightResponse(content, status, statusText, fields);
}

/** The global `fetch` while replaced: unwraps a {@linkcode LazyRequest}. */
function lameduckFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  return nativeFetch(input instanceof LazyRequest ? LazyRequest.native(input) : input, init);
}

let installed = false;

/** Whether lameduck's `Request`/`Response` are the globals (then the bridge uses them). */
export function globalsInstalled(): boolean {
  return installed && globalThis.Request === LameduckRequest;
}

/** Replaces the global `Request`, `Response` and `fetch`, once per process. Never undone. */
export function installGlobals(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as Record<string, unknown>;
  for (
    const [name, value] of [
      ["Request", LameduckRequest],
      ["Response", LameduckResponse],
      ["fetch", lameduckFetch],
    ] as const
  ) {
    Object.defineProperty(g, name, { value, writable: true, configurable: true });
  }
}
