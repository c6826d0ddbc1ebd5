/**
 * HTTP/2 on Node for the Node adapter: with `tls`, `http2.createSecureServer({ allowHTTP1 })`
 * serves HTTP/2 and HTTP/1.1 on one port. HTTP/1.1 connections get `node:http`'s objects and
 * the adapter's usual handling; HTTP/2 streams get Node's compatibility objects
 * (`Http2ServerRequest`, `Http2ServerResponse`), subclassed here so the bridge can treat them
 * as it treats `node:http`'s:
 *
 * - {@linkcode H2Request}: `rawHeaders` as an HTTP/1.1 server would see them (no pseudo-header
 *   fields, a `Host` from `:authority`, one `Cookie`), as RFC 9113 8.3.1 and 8.2.3 ask of a
 *   conversion to HTTP/1.1. Without it, the `Headers` of the request would reject `:method`.
 * - {@linkcode H2Response}: `destroyed` (Node's compat response has none), and a `writeHead`
 *   that drops the fields HTTP/2 forbids (Node 24 throws `ERR_HTTP2_INVALID_CONNECTION_HEADERS`
 *   for `Transfer-Encoding` or `Keep-Alive`, and warns for `Connection`) and the status text
 *   (HTTP/2 has none; Node warns).
 * - {@linkcode Sessions}: every HTTP/2 session, for shutdown: GOAWAY when the listener closes
 *   (streams already opened finish, newer ones are refused so the client goes elsewhere), and
 *   destroyed at the deadline.
 *
 * @module
 */

import {
  constants,
  Http2ServerRequest,
  Http2ServerResponse,
  type Http2Session,
  type OutgoingHttpHeaders,
} from "node:http2";

/** Fields of HTTP/1.1 connection management that an HTTP/2 message must not carry. */
const CONNECTION_FIELDS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

function forbidden(name: string, value: unknown): boolean {
  const lower = name.toLowerCase();
  return CONNECTION_FIELDS.has(lower) ||
    (lower === "te" && String(value).toLowerCase() !== "trailers");
}

/** `fields` (a flat `[name, value, ...]` list or an object) without what HTTP/2 forbids. */
function http2Fields(fields: unknown): unknown {
  if (Array.isArray(fields)) {
    const kept: unknown[] = [];
    for (let i = 0; i < fields.length; i += 2) {
      if (!forbidden(String(fields[i]), fields[i + 1])) kept.push(fields[i], fields[i + 1]);
    }
    return kept;
  }
  if (fields === null || typeof fields !== "object") return fields;
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!forbidden(name, value)) kept[name] = value as OutgoingHttpHeaders[string];
  }
  return kept;
}

/** The request of an HTTP/2 stream; `rawHeaders` as HTTP/1.1 has them. */
export class H2Request extends Http2ServerRequest {}

const RAW = Symbol("lameduck.rawHeaders");
const nativeRawHeaders = Object.getOwnPropertyDescriptor(
  Http2ServerRequest.prototype,
  "rawHeaders",
)!.get!;

// A getter over the base class's property (@types/node declares a property, so the class
// body cannot override it).
Object.defineProperty(H2Request.prototype, "rawHeaders", {
  configurable: true,
  get(this: H2Request & { [RAW]?: string[] }): string[] {
    return this[RAW] ??= http1Fields(nativeRawHeaders.call(this) as string[]);
  },
});

/**
 * HTTP/2 fields as HTTP/1.1 carries them: no pseudo-header fields, `Host` from `:authority`
 * when the client sent no `Host`, the `Cookie` fields joined with `"; "` (HTTP/2 lets a
 * client split them; joined with `", "` by `Headers`, the cookie string would be wrong).
 */
function http1Fields(raw: readonly string[]): string[] {
  const fields: string[] = [];
  let authority: string | undefined;
  let host = false;
  let cookies: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (name === ":authority") authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    if (lower === "cookie") (cookies ??= []).push(value);
    else {
      if (lower === "host") host = true;
      fields.push(name, value);
    }
  }
  if (cookies !== undefined) fields.push("cookie", cookies.join("; "));
  if (!host && authority !== undefined) fields.unshift("host", authority);
  return fields;
}

/** The response of an HTTP/2 stream, with what the bridge reads of a `ServerResponse`. */
export class H2Response extends Http2ServerResponse {
  /** Without the fields HTTP/2 forbids, and without a status text. */
  override writeHead(status: number, text?: unknown, fields?: unknown): this {
    const given = typeof text === "string" ? fields : text;
    return super.writeHead(status, http2Fields(given) as OutgoingHttpHeaders);
  }
}

// Node's compat response has no `destroyed` (@types/node declares one): the stream's. Its
// `statusMessage` warns on every use (HTTP/2 has none): here it is silently empty, as the bridge
// resets it after a failed `writeHead`.
// `writableFinished` is the stream's too, but Node 24 also finishes the writable side of a
// stream the client reset (RST_STREAM): a reset stream did not finish, as a closed HTTP/1.1
// socket did not. (@types/node declares both as properties: the class cannot override them.)
Object.defineProperties(H2Response.prototype, {
  statusMessage: {
    configurable: true,
    get: (): string => "",
    set: (_text: string): void => {},
  },
  destroyed: {
    configurable: true,
    get(this: H2Response): boolean {
      return this.stream.destroyed;
    },
  },
  writableFinished: {
    configurable: true,
    get(this: H2Response): boolean {
      const stream = this.stream;
      return stream.writableFinished &&
        (stream.rstCode === undefined || stream.rstCode === constants.NGHTTP2_NO_ERROR);
    },
  },
});

/** The HTTP/2 sessions of one server. */
export interface Sessions {
  /** Adds a new session. */
  add(session: Http2Session): void;
  /** GOAWAY on every session; each closes once its streams are done. New ones get it at once. */
  close(): void;
  /** Destroys every session and its streams. */
  force(): void;
}

/**
 * Tracks the sessions of a server. `grace` is how long a just-accepted session may take to
 * open its first stream before GOAWAY refuses it (as for HTTP/1.1's first request).
 */
export function trackSessions(grace: number): Sessions {
  const open = new Map<Http2Session, number>();
  let closing = false;
  const goAway = (session: Http2Session): void => {
    if (session.closed || session.destroyed) return;
    const wait = open.get(session)! + grace - performance.now();
    if (wait > 0) {
      setTimeout(() => goAway(session), wait).unref();
      return;
    }
    // GOAWAY with the last stream the session processed: those finish, later ones are refused
    // (REFUSED_STREAM: the client may retry elsewhere); the session closes when they are done.
    session.close();
  };
  return {
    add(session) {
      open.set(session, performance.now());
      session.once("close", () => open.delete(session));
      if (closing) goAway(session);
    },
    close() {
      closing = true;
      for (const session of open.keys()) goAway(session);
    },
    force() {
      closing = true;
      for (const session of open.keys()) session.destroy();
    },
  };
}

/**
 * During the drain, a session that carried a request gets GOAWAY, as an HTTP/1.1 response says
 * `Connection: close`: the client's next request goes on a new connection.
 */
export function goAwayAfter(request: H2Request): void {
  const session = request.stream.session;
  if (session !== undefined && !session.closed && !session.destroyed) session.close();
}
