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
import { LameduckRequest, LazyRequest } from "./lazy_request.ts";
import { LameduckResponse } from "./light_response.ts";

const nativeFetch: typeof fetch = globalThis.fetch;

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
