/**
 * Torture: responses the Node bridge must not send as they are, over raw keep-alive
 * connections, on every runtime the bridge serves: Node on its own listener and on an inherited
 * socket, Deno and Bun on an inherited socket (`lameduck run --handover fd`, systemd). The
 * framing on the wire is the bridge's (a wrong `Content-Length` must never leave bytes that the
 * client reads as its next response); a response that cannot be sent is logged with its request
 * and answered through `onError` before its head, or cut after it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server as NetServer } from "node:net";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import type { SendConfig } from "../shared/fixture_config.ts";
import { within } from "../shared/time.ts";
import {
  type Fixture,
  type FixtureEvent,
  killLeftovers,
  start,
} from "../contract/fixture_process.ts";
import { RawConnection, type RawResponse } from "../contract/client_raw_http.ts";
import type { RuntimeName } from "../contract/runtimes.ts";
import { forEachRuntime } from "../contract/runtime_selection.ts";

const SCRIPT = "tests/torture/send_fixture.ts";

/** A response a smuggling upstream hides in its decoded body, after padding. */
const SMUGGLED = "HTTP/1.1 200 OK\r\nSet-Cookie: session=evil\r\nContent-Length: 5\r\n\r\nowned";

/**
 * A gzip body whose decoded text is padding as long as the compressed body, then
 * {@linkcode SMUGGLED}: a bridge that keeps the compressed `Content-Length` on the decoded
 * body leaves exactly the smuggled response on the connection.
 */
function smugglingBody(): { decoded: string; gzip: Buffer } {
  let padding = 64;
  for (let i = 0; i < 50; i++) {
    const length = gzipSync(Buffer.from("a".repeat(padding) + SMUGGLED)).byteLength;
    if (length === padding) break;
    padding = length;
  }
  const decoded = "a".repeat(padding) + SMUGGLED;
  const gzip = gzipSync(Buffer.from(decoded));
  assert.equal(gzip.byteLength, padding, "the padding matches the compressed length");
  return { decoded, gzip };
}

/** The upstream `/proxy` fetches from: a node:http server in this process. */
async function upstream(body: Buffer): Promise<{ port: number; close(): void }> {
  const server = createHttpServer((_incoming, outgoing) => {
    outgoing.writeHead(200, { "content-encoding": "gzip", "content-length": body.byteLength });
    outgoing.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

/** A listening socket on 127.0.0.1 whose descriptor the fixture inherits. */
async function listening(): Promise<{ server: NetServer; fd: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, fd: (server as unknown as { _handle: { fd: number } })._handle.fd };
}

type Path = "direct" | "inherited";

async function withSendFixture(
  runtime: RuntimeName,
  path: Path,
  config: SendConfig,
  body: (fx: Fixture) => Promise<void>,
): Promise<void> {
  let fx: Fixture;
  if (path === "direct") fx = await start(runtime, config, 20_000, SCRIPT);
  else {
    const inherited = await listening();
    try {
      fx = await start(runtime, config, 20_000, SCRIPT, inherited.fd);
    } finally {
      inherited.server.close(); // The fixture holds its own copy.
    }
  }
  try {
    await body(fx);
  } finally {
    fx.kill();
  }
}

/** Whether `e` is an `error` log line of stage `send` about `path`. */
const isSendError = (path: string) => (e: FixtureEvent): boolean =>
  e.event === "log" && e.type === "error" && e.stage === "send" &&
  typeof e.request === "string" && new URL(e.request.split(" ")[1]!).pathname === path;

/** The `error` log lines of stage `send` about `path`. */
function sendErrors(fx: Fixture, path: string): FixtureEvent[] {
  return fx.events.filter(isSendError(path));
}

/** Asserts `conn` still serves: a second request on it gets its own response. */
async function servesOn(conn: RawConnection, what: string): Promise<void> {
  const next = await conn.request("GET", "/fast");
  assert.equal(next.status, 200, `${what}: the next request's status`);
  assert.equal(next.body, "fast", `${what}: the next request got its own response`);
  assert.equal(next.headers["set-cookie"], undefined, `${what}: no smuggled Set-Cookie`);
}

/**
 * Sends each request on a connection of its own, checks its response, then a second request on
 * the same connection ({@linkcode servesOn}); returns what failed, one line per request.
 */
async function eachOnItsConnection(
  fx: Fixture,
  cases: Record<string, (response: RawResponse) => void | Promise<void>>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [request, check] of Object.entries(cases)) {
    const [method, target] = request.split(" ") as [string, string];
    const conn = await RawConnection.connect(fx.port);
    try {
      await check(await conn.request(method, target, { timeoutMs: 5_000 }));
      await servesOn(conn, request);
    } catch (error) {
      problems.push(`${request}: ${(error as Error).message.split("\n")[0]}`);
    } finally {
      conn.destroy();
    }
  }
  return problems;
}

/** Bridge paths: Node on both, Deno and Bun on an inherited socket (node:http). */
const pathsOf = (runtime: RuntimeName): Path[] =>
  runtime === "node" ? ["direct", "inherited"] : ["inherited"];

forEachRuntime("torture: a decoded fetch() result on the native servers", (runtime) => {
  if (runtime === "node") return;
  describe(`torture: return fetch(upstream) on ${runtime === "deno" ? "Deno.serve" : "Bun.serve"}`, () => {
    after(killLeftovers);
    test("direct: a gzip upstream's decoded body reaches the client without Content-Encoding; the next request gets its own response", async () => {
      const { decoded, gzip } = smugglingBody();
      const origin = await upstream(gzip);
      try {
        await withSendFixture(runtime, "direct", { upstream: origin.port }, async (fx) => {
          const conn = await RawConnection.connect(fx.port);
          try {
            const r = await conn.request("GET", "/proxy", { timeoutMs: 5_000 });
            assert.equal(r.status, 200, fx.describe());
            assert.equal(r.headers["content-encoding"], undefined, "the body is decoded");
            assert.equal(r.body, decoded, "the whole decoded body");
            const length = r.headers["content-length"];
            if (length !== undefined) assert.equal(Number(length), decoded.length);
            await servesOn(conn, "/proxy");
          } finally {
            conn.destroy();
          }
        });
      } finally {
        origin.close();
      }
    });
  });
});

forEachRuntime("torture: responses the Node bridge cannot send as they are", (runtime) => {
  describe(`torture: the Node bridge's response side on ${runtime}`, () => {
    after(killLeftovers);

    for (const path of pathsOf(runtime)) {
      test(`${path}: the framing is the bridge's: a wrong Content-Length, a handler's Transfer-Encoding, hop-by-hop fields, a 304's framing; the next request on the connection gets its own response`, async () => {
        await withSendFixture(runtime, path, {}, async (fx) => {
          const problems = await eachOnItsConnection(fx, {
            "GET /length?cl=2": (r) => {
              assert.equal(r.body, "hello world");
              assert.equal(r.headers["content-length"], "11");
            },
            "GET /length?cl=50": (r) => {
              assert.equal(r.body, "hello world");
              assert.equal(r.headers["content-length"], "11");
            },
            "GET /length?cl=2&stream=1": (r) => {
              assert.equal(r.body, "hello world");
              assert.equal(r.headers["content-length"], undefined);
              assert.equal(r.headers["transfer-encoding"], "chunked");
            },
            "HEAD /length?cl=2": (r) => {
              assert.equal(r.headers["content-length"], "2", "HEAD keeps a stated length");
            },
            "GET /chunked": (r) => {
              assert.equal(r.body, "hello");
              assert.equal(r.headers["content-length"], "5", "a known length, not chunked");
              assert.equal(r.headers["transfer-encoding"], undefined);
            },
            "GET /hop": (r) => {
              assert.equal(r.body, "hop");
              for (const name of ["upgrade", "proxy-connection", "te", "trailer"]) {
                assert.equal(r.headers[name], undefined, `the handler's ${name} is dropped`);
              }
              assert.doesNotMatch(r.headers["keep-alive"] ?? "", /99/, "the handler's keep-alive");
              assert.doesNotMatch(r.headers["connection"] ?? "", /x-private/);
            },
            "GET /not-modified": (r) => {
              assert.equal(r.status, 304);
              assert.equal(r.headers["content-length"], undefined, "304: no length");
              assert.equal(r.headers["transfer-encoding"], undefined, "304: no TE");
              assert.equal(r.headers["etag"], '"a"');
            },
          });
          assert.deepEqual(problems, [], `\n${problems.join("\n")}\n${fx.describe()}`);
        });
      });

      test(`${path}: hop-by-hop fields from the handler while draining: the bridge's own Connection: close, and the connection closes`, async () => {
        await withSendFixture(runtime, path, { lameDuck: 3_000 }, async (fx) => {
          const conn = await RawConnection.connect(fx.port);
          try {
            await servesOn(conn, "before the drain");
            fx.signal("SIGTERM");
            await fx.waitFor((e) => e.event === "log" && e.type === "draining", 5_000, "draining");
            const hop = await conn.request("GET", "/hop");
            assert.equal(hop.headers["connection"], "close", fx.describe());
            assert.equal(hop.headers["upgrade"], undefined);
            assert.equal(hop.headers["keep-alive"], undefined);
            const end = await within(conn.ended, 5_000, "the connection to close");
            assert.equal(end, "fin", "the connection closes after it");
          } finally {
            conn.destroy();
          }
        });
      });

      test(`${path}: return fetch(upstream) of a gzip upstream loses Content-Encoding and the compressed Content-Length; nothing in its decoded body reaches the next request`, async () => {
        const { decoded, gzip } = smugglingBody();
        const origin = await upstream(gzip);
        try {
          await withSendFixture(runtime, path, { upstream: origin.port }, async (fx) => {
            const conn = await RawConnection.connect(fx.port);
            try {
              const r = await conn.request("GET", "/proxy", { timeoutMs: 5_000 });
              assert.equal(r.status, 200, fx.describe());
              assert.equal(r.headers["content-encoding"], undefined, "the body is decoded");
              assert.equal(r.body, decoded, "the whole decoded body");
              const length = r.headers["content-length"];
              if (length !== undefined) assert.equal(Number(length), decoded.length);
              await servesOn(conn, "/proxy");
            } finally {
              conn.destroy();
            }
          });
        } finally {
          origin.close();
        }
      });

      test(`${path}: a response that cannot be sent before its head is answered by onError and logged with its request; the connection serves on`, async () => {
        await withSendFixture(runtime, path, {}, async (fx) => {
          const answeredByOnError = (target: string) => async (r: RawResponse) => {
            assert.equal(r.status, 599, "onError's status");
            assert.equal(r.headers["x-on-error"], "yes");
            assert.match(r.body, /^onError: /);
            const pathname = new URL(target, "http://x").pathname;
            // The log line travels on the fixture's stdout: it may arrive after the response.
            await fx.waitFor(isSendError(pathname), 5_000, `${target}: its log line`)
              .catch(() => {}); // Counted below either way.
            assert.equal(sendErrors(fx, pathname).length, 1, "one log line naming the request");
          };
          const targets = [
            "/error-first",
            "/used",
            "/locked",
            "/network-error",
            "/attachment?name=a%01b",
          ];
          const problems = await eachOnItsConnection(
            fx,
            Object.fromEntries(targets.map((t) => [`GET ${t}`, answeredByOnError(t)])),
          );
          assert.deepEqual(problems, [], `\n${problems.join("\n")}\n${fx.describe()}`);
        });
      });

      test(`${path}: when onError's answer cannot be sent either, a plain 500 (not 500 OK), both logged`, async () => {
        await withSendFixture(runtime, path, {}, async (fx) => {
          const conn = await RawConnection.connect(fx.port);
          try {
            conn.send("GET", "/attachment?name=a%01b&twice");
            let raw = "";
            conn.socket.on("data", (b: Buffer) => raw += b.toString("latin1"));
            await within(conn.ended, 5_000, "the connection to close after the plain 500");
            assert.match(raw, /^HTTP\/1\.1 500 Internal Server Error\r\n/, raw);
            assert.equal(sendErrors(fx, "/attachment").length, 2, fx.describe());
          } finally {
            conn.destroy();
          }
        });
      });

      test(`${path}: a body that fails midway is cut (no last chunk, the connection closed) and logged with its request`, async () => {
        await withSendFixture(runtime, path, {}, async (fx) => {
          const conn = await RawConnection.connect(fx.port);
          try {
            let received = "";
            conn.socket.on("data", (b: Buffer) => received += b.toString("latin1"));
            conn.send("GET", "/mid-error");
            const end = await within(conn.ended, 5_000, "the cut connection to close");
            assert.match(received, /^HTTP\/1\.1 200 /, received);
            assert.match(received, /transfer-encoding: chunked/i, received);
            assert.ok(received.includes("part 0\n"), received);
            assert.ok(
              !received.endsWith("0\r\n\r\n"),
              `no last chunk: ${JSON.stringify(received)}`,
            );
            assert.notEqual(end, "local");
            const logged = await fx.waitFor(
              isSendError("/mid-error"),
              5_000,
              "the log line of the cut response",
            );
            assert.match(String(logged.error), /failed midway/);
          } finally {
            conn.destroy();
          }
        });
      });
    }
  });
});
