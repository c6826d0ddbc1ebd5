/**
 * What every benchmark server answers, whatever serves it: `GET /16k` a 16 KiB body, anything
 * else `hello world`. The fetch handler is the same function object for lameduck and for the
 * bare runtime servers, so the comparison measures the server, not the handler.
 *
 * Every server prints `listening <port>` on stdout once it accepts connections.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";

/** The small body. */
export const HELLO = "hello world\n";
/** The large body: 16 KiB of ASCII. */
export const BODY_16K = "x".repeat(16 * 1024);

/** The body for a request path or URL. */
export function bodyFor(url: string): string {
  return url.endsWith("/16k") ? BODY_16K : HELLO;
}

/** The fields of `GET /headers`: a response with fields of the handler's own. */
export const HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/plain; charset=utf-8",
  "cache-control": "no-store",
  "x-request-id": "4f9c2a7e-1b3d-4c5e-8f60-7a1b2c3d4e5f",
};

/** The fetch handler served by every Fetch-style server. */
export function fetchHandler(request: Request): Response {
  const url = request.url;
  if (url.endsWith("/headers")) return new Response(HELLO, { headers: HEADERS });
  return new Response(bodyFor(url));
}

/**
 * `{ cert, key }` from the PEM files named by `BENCH_TLS_CERT` and `BENCH_TLS_KEY`, or
 * `undefined` when they are unset (plain HTTP).
 */
export function tlsFromEnv(): { cert: string; key: string } | undefined {
  const cert = process.env.BENCH_TLS_CERT;
  const key = process.env.BENCH_TLS_KEY;
  if (!cert || !key) return undefined;
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

/** Tells the driver the server is listening. */
export function announce(port: number): void {
  console.log(`listening ${port}`);
}

/** A numeric environment variable, `fallback` when unset. */
export function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  return raw === undefined || raw === "" ? fallback : Number(raw);
}
