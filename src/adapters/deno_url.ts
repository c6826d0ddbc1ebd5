/**
 * The URL of a request on `Deno.serve`, made to follow the rule of `request_url.ts`. Deno joins
 * the `Host` field to the target unchecked (`Host: good.example/admin` with `GET /secret` gives
 * `http://good.example/admin/secret`) and keeps `/a/../b` and `/a\..\b` as sent (Deno 2.9.6, no
 * upstream issue found; regression tests in tests/contract/cases_url.ts). The joined URL cannot
 * tell `Host: good.example/admin` from a request for `/admin/secret`, so `Host` is read on every
 * request that has a `Host`-built URL; the plainly valid one is then checked by its characters,
 * without making a `URL`.
 *
 * On a plaintext connection `request.url` never claims `https:`: an absolute-form target
 * `GET https://evil.example/x` becomes `http://<Host>/x` as on Bun and the Node bridge
 * (`node/url.ts`). An `http://` absolute-form target keeps its authority on Deno, as
 * RFC 9112 §3.2.2 asks of an origin server (Bun and Node take `Host`), but is checked and
 * normalised the same way.
 *
 * @module
 */

import { isHost, normalUrl } from "./request_url.ts";

/**
 * `request`, or a copy with the URL a handler sees by the rule, or `undefined` when its `Host`
 * or URL is not valid (answer `400` without calling the handler).
 *
 * @param request A request from `Deno.serve`.
 * @param origin The server's origin without a trailing slash: the authority of a request whose
 * `Host` is empty (Node's and Bun's `node:http` take it too).
 * @param plaintext Whether the connection is plaintext.
 * @returns The request to hand to the handler, or `undefined`.
 */
export function denoRequest(
  request: Request,
  origin: string,
  plaintext: boolean,
): Request | undefined {
  const url = request.url;
  // Deno builds the URL from the `Host` field unless the target is absolute-form (or the
  // request has none: HTTP/2's `:authority`, HTTP/1.0).
  const host = request.headers.get("host");
  if (host !== null && host !== "" && !isHost(host)) return undefined;
  let target = url;
  if (host === "") target = origin + pathAndQuery(url);
  else if (plaintext && url.charCodeAt(4) === 115 /* "https:" */) {
    target = (host === null ? origin : `http://${host}`) + pathAndQuery(url);
  }
  const normal = normalUrl(target);
  if (normal === undefined) return undefined;
  return normal === url ? request : new Request(normal, request);
}

/** The path and query of an absolute URL (`/` when it has no path). */
function pathAndQuery(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash === -1 ? "/" : url.slice(slash);
}
