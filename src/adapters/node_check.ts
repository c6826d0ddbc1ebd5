/**
 * The check the Node bridge needs before it writes a handler's `Response`. Part of the Node
 * bridge, applied by `serve()` to `fetch` (the core calls `onError` when `fetch` throws; the
 * bridge itself has no way to).
 *
 * @module
 */
import type { FetchHandler } from "../core/types.ts";
import { LightResponse, NativeResponse, nativeResponseStatus } from "./node_globals.ts";

/**
 * `fetch` whose every `Response` is checked before the bridge writes it: one whose getters
 * throw (a subclass, a lookalike made with `Object.create(Response.prototype)`) makes `fetch`
 * throw a `TypeError`, so the core answers it with `onError`'s response (or its `500`) instead of
 * the bridge failing mid-write. Anything that is not a `Response` is left to the core.
 *
 * @param fetch The user's handler.
 * @returns The checking handler.
 */
export function checkingResponses(fetch: FetchHandler): FetchHandler {
  return (request, ctx) => {
    const result = fetch(request, ctx);
    return result instanceof Promise ? result.then(writable) : writable(result);
  };
}

function writable<T>(response: T): T {
  if (response instanceof LightResponse || !(response instanceof NativeResponse)) return response;
  try {
    nativeResponseStatus.call(response); // Throws unless it has a native response's state.
    void response.status;
    void response.headers;
    void response.body;
  } catch (error) {
    throw new TypeError("fetch returned a Response that cannot be sent", { cause: error });
  }
  return response;
}
