/**
 * The URL of a request the Node bridge receives, by the rule of `../request_url.ts`: the one
 * builder for both of the bridge's paths (the lazy request's and `toRequest`'s).
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { CANONICAL_HOST, canonicalPath, HOST } from "../request_url.ts";

/**
 * The last `Host` found canonical (`CANONICAL_HOST`): requests on a connection, and often all
 * of them, repeat it.
 */
let canonicalHost = "";

/**
 * The URL of a request: exactly what the `URL` parser makes of it (checked by pattern, parsed
 * when the pattern fails). The URL uses the `Host` header, or `origin` when there is none; an
 * absolute-form target (`GET http://host/path`, as sent to proxies) is rebuilt from its path as
 * `http://<Host>/path`: the connection is plaintext, so the URL never says `https:`, and the
 * host is the `Host` header as on Bun (whose `request.url` cannot be told apart) and on Deno
 * (whose adapter rewrites it the same way).
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
    if (name.length === 4 && isHostName(name)) {
      host = raw[i + 1];
      break;
    }
  }
  const target = incoming.url ?? "/";
  // The common case, an origin-form target with a Host, checked on the strings the parser
  // gave: no substring of the joined URL, and no lower-cased copy of the header name.
  if (target.charCodeAt(0) === 47 /* "/" */ && host !== undefined && host !== "") {
    const scheme = origin.startsWith("https:") ? "https://" : "http://";
    if (host !== canonicalHost) {
      if (!HOST.test(host)) throw new TypeError(`Invalid Host header: ${host}`);
      if (!CANONICAL_HOST.test(host)) return new URL(scheme + host + target).href;
      canonicalHost = host;
    }
    const url = scheme + host + target;
    return canonicalPath(target) ? url : new URL(url).href;
  }
  if (host === undefined) requireHost(incoming);
  const url = joined(target, host, origin);
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
function isHostName(name: string): boolean {
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

/** `origin` or the `Host` joined to the path of `target`, before normalisation. */
function joined(target: string, host: string | undefined, origin: string): string {
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
  if (host !== canonicalHost && !HOST.test(host)) {
    throw new TypeError(`Invalid Host header: ${host}`);
  }
  return (origin.startsWith("https:") ? "https://" : "http://") + host + target;
}
