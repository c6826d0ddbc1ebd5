/**
 * The one rule for the URL a handler sees, on every runtime and path: a `Host` field that is
 * not a valid authority (a name, an IPv4 address or a bracketed IPv6 address, and an optional
 * port up to 65535; nothing else: no `/`, `?`, `#`, `@`, `\` or space) gets `400 Bad Request`
 * without calling the handler, and the URL is what the WHATWG URL parser makes of
 * `http://<Host><target>` (lower-case host, default port dropped, `.`/`..`/`%2e` segments
 * resolved, `\` read as `/`). Node's and Bun's servers build their URL that way; `Deno.serve`
 * joins `Host` and the target unchecked, so its adapter applies {@linkcode normalUrl} (and checks
 * `Host` with {@linkcode isHost}). The plainly canonical URL, the common case, is recognised by
 * its characters alone and returned as it is, without parsing it.
 *
 * @module
 */

/** A `Host` field value lameduck accepts, before the port range (the `URL` parser checks it). */
export const HOST = /^(?:[\w.-]+|\[[\dA-Fa-f:.]+\])(?::\d{1,5})?$/;

/** A lower-case name or dotted-quad address and a port the `URL` parser keeps as they are. */
export const CANONICAL_HOST =
  /^(?:(?:[a-z\d-]+\.)*[a-z][a-z\d-]*|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/** A path and query without anything the `URL` parser would percent-encode. */
const CANONICAL_PATH = /^\/[!#-&(-;=?-[\]_a-z~]*$/;

/** The characters of `CANONICAL_PATH`, as a table. */
const PATH_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (CANONICAL_PATH.test("/" + String.fromCharCode(c))) PATH_CHARS[c] = 1;
}

/**
 * Whether the URL parser keeps a path that starts with `/` (at `start`) as it is: only
 * `CANONICAL_PATH`'s characters (so no `\`), no dot segment (`.`, `..`, and their `%2e`
 * spellings). One pass over the characters: two regular expressions cost more on every request.
 *
 * @param path A string whose character at `start` is `/`.
 * @param start Where the path begins.
 * @returns `false` when the parser might change it.
 */
export function canonicalPath(path: string, start = 0): boolean {
  const n = path.length;
  for (let i = start + 1; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c >= 128 || PATH_CHARS[c] === 0) return false;
    // "%2e" is a dot too: the URL parser removes "/%2e/" and "/%2e%2e/" segments.
    if (c === 37 /* "%" */ && (path.charCodeAt(i + 2) | 0x20) === 101 /* "e" */) {
      if (path.charCodeAt(i + 1) === 50 /* "2" */) return false;
    }
    if (c === 46 /* "." */ && path.charCodeAt(i - 1) === 47 /* "/" */) {
      let next = i + 1;
      if (path.charCodeAt(next) === 46) next++;
      if (next >= n) return false;
      const d = path.charCodeAt(next);
      if (d === 47 || d === 63 /* "?" */ || d === 35 /* "#" */) return false;
    }
  }
  return true;
}

let hostSeen = "";

/**
 * Whether `host` is a `Host` field value that forms a valid authority: {@linkcode HOST}'s
 * shape and a port the `URL` parser accepts.
 *
 * @param host A non-empty `Host` field value.
 * @returns `false` for `good.example/admin`, `a b`, `a@b`, `[::1`, `good.example:99999`.
 */
export function isHost(host: string): boolean {
  if (host === hostSeen) return true; // Requests on a connection, often all, repeat the Host.
  if (!HOST.test(host)) return false;
  if (!CANONICAL_HOST.test(host) && !URL.canParse(`http://${host}/`)) return false;
  hostSeen = host;
  return true;
}

let authoritySeen = "";

/**
 * The URL a handler sees for `url`, an absolute `http:` or `https:` URL as a runtime built it:
 * `url` itself when it is plainly canonical (a canonical authority and path, checked by their
 * characters; no `URL` is made), the `URL` parser's `href` otherwise.
 *
 * @param url The runtime's URL, e.g. `http://good.example/a/../b`.
 * @returns The URL (`http://good.example/b`), or `undefined` when it forms no URL or its
 * authority is not a valid `Host` (user info, a bad port): answer `400`.
 */
export function normalUrl(url: string): string | undefined {
  const start = url.charCodeAt(4) === 58 /* "http:" */ ? 7 : 8;
  const slash = url.indexOf("/", start);
  if (slash !== -1 && url.startsWith(start === 7 ? "http://" : "https://")) {
    const authority = url.slice(start, slash);
    if (authority === authoritySeen || CANONICAL_HOST.test(authority)) {
      authoritySeen = authority;
      if (canonicalPath(url, slash)) return url;
    }
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol;
  if (scheme !== "http:" && scheme !== "https:") return undefined;
  if (parsed.username !== "" || parsed.password !== "" || parsed.host === "") return undefined;
  return parsed.href;
}

/** The answer to a request whose `Host` or target forms no valid URL; the handler is not called. */
export function badRequestResponse(): Response {
  return new Response("Bad Request\n", {
    status: 400,
    headers: { "content-type": "text/plain;charset=utf-8", connection: "close" },
  });
}
