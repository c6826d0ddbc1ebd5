/**
 * The URL of a request on `Bun.serve`, made to follow the rule of `request_url.ts`. Bun
 * normalises the path as the URL parser does, but for a `Host` it cannot join
 * (`good.example/admin`, `a b`, `a@b`, an empty or missing one) `request.url` is the bare target
 * (`/secret`), and it keeps `[::1` and `good.example:99999` (Bun 1.4.5, no upstream issue
 * found; regression tests in tests/contract/cases_url.ts). Bun reads `Host` itself, so the
 * common URL is checked by its characters alone, without reading any header.
 *
 * @module
 */

import { normalUrl } from "./request_url.ts";

/**
 * `request`, or a copy with the URL a handler sees by the rule, or `undefined` when its `Host`
 * or URL is not valid (answer `400` without calling the handler).
 *
 * @param request A request from `Bun.serve`.
 * @param origin The server's origin without a trailing slash: the authority of a request whose
 * `Host` is empty.
 * @returns The request to hand to the handler, or `undefined`.
 */
export function bunRequest(request: Request, origin: string): Request | undefined {
  const url = request.url;
  if (url.charCodeAt(0) === 47 /* "/" */) {
    // No URL made of the Host: it was empty or missing (HTTP/1.0; Bun answers an HTTP/1.1
    // request without Host itself), and the server's origin stands, or it was invalid.
    const host = request.headers.get("host");
    if (host !== null && host !== "") return undefined;
    const normal = normalUrl(origin + url);
    return normal === undefined ? undefined : new Request(normal, request);
  }
  const normal = normalUrl(url);
  if (normal === undefined) return undefined;
  return normal === url ? request : new Request(normal, request);
}
