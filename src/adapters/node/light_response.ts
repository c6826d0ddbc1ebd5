/**
 * The response the Node bridge writes without web streams when the globals are replaced
 * (`globals.ts`): {@linkcode LameduckResponse} is the global `Response` then, and makes a
 * {@linkcode LightResponse} for a string, bytes or no body; anything else is native.
 *
 * @module
 */
import { delegateToNative } from "./native.ts";

/** The runtime's own `Response`, whatever the global is now. */
export const NativeResponse: typeof Response = globalThis.Response;
/** The native `status` getter: throws for an object without a native response's state. */
export const nativeResponseStatus: () => number = Object.getOwnPropertyDescriptor(
  NativeResponse.prototype,
  "status",
)!.get!;

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

/** `instanceof` as it is for a class without a `Symbol.hasInstance` of its own. */
const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

// Everything else a Response has is the native response's.
delegateToNative(LightResponse.prototype, NativeResponse.prototype, (r) => LightResponse.native(r));

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

  /**
   * Every native response, and every light one, is an instance. A subclass (`class X extends
   * Response` written while the globals are replaced) inherits this static method: for it,
   * the ordinary prototype check, so an `X` is what `new X()` made and nothing else.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // Checked on every request: keep it this plain.
    if (this === LameduckResponse) return value instanceof NativeResponse;
    return ordinaryHasInstance.call(this, value);
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
