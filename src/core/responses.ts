/**
 * Responses the core makes itself, and the `Connection: close` rewrite for runtimes whose
 * adapters hand `Response` objects to the runtime (Deno, Bun).
 *
 * @module
 */

const TEXT = "text/plain;charset=utf-8";

function plain(status: number, text: string, head: boolean, extra?: [string, string][]): Response {
  const headers: [string, string][] = [["content-type", TEXT], ["cache-control", "no-store"]];
  if (extra) headers.push(...extra);
  return new Response(head ? null : text, { status, headers });
}

/** The readiness answer: `200 ok` while serving, `503 draining` once shutdown starts. */
export function readinessResponse(serving: boolean, head: boolean): Response {
  return serving ? plain(200, "ok\n", head) : plain(503, "draining\n", head);
}

/** The answer above `maxInFlight`. */
export function overloadedResponse(): Response {
  return plain(503, "Service Unavailable: too many requests in flight\n", false, [
    ["retry-after", "1"],
  ]);
}

/** The default answer when `fetch` fails. No stack trace ever reaches the client. */
export function errorResponse(): Response {
  return plain(500, "Internal Server Error\n", false);
}

/** The answer for a request whose handler had not responded when the drain was forced. */
export function forcedResponse(): Response {
  return plain(503, "Service Unavailable: server shutting down\n", false, [
    ["connection", "close"],
  ]);
}

/**
 * Returns `response` with `Connection: close` set. Leaves `101 Switching Protocols` alone.
 * When the headers are immutable (e.g. a `fetch()` result), returns a copy.
 */
export function withConnectionClose(response: Response): Response {
  if (response.status === 101) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set("connection", "close");
    return copy;
  }
}

/** The path of an absolute request URL, without parsing the whole URL. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}
