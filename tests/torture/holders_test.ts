/**
 * Torture: connections that carry no request in flight must not hold the drain. A silent
 * connection opened long before SIGTERM (a load balancer's pre-opened one), a request head
 * trickling in byte by byte (slowloris), and a slow upload to a handler that answered without
 * reading it: on every runtime and on both paths (its own listener, and an inherited socket
 * served through `node:http`), SIGTERM exits 0 well before `drainTimeout`, and the upload's
 * client gets its whole response.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createServer, type Server as NetServer } from "node:net";
import { after, describe, test } from "node:test";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import { type Fixture, killLeftovers, start } from "../contract/fixture_process.ts";
import type { RuntimeName } from "../contract/runtimes.ts";
import type { TortureConfig } from "../shared/fixture_config.ts";
import { PROMPT_MS, sleep } from "../shared/time.ts";
import { exchange, exitOf } from "./helpers.ts";

const SCRIPT = "tests/torture/fixture.ts";

/** Far above every bound these cases assert: reaching it means something held the drain. */
const DRAIN_TIMEOUT = 8_000;

type Path = "direct" | "inherited";

/** A listening socket on 127.0.0.1 whose descriptor the fixture inherits. */
async function listening(): Promise<{ server: NetServer; fd: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  return { server, fd };
}

/** Runs `body` with the torture fixture on `path`; always kills it afterwards. */
async function withPath(
  runtime: RuntimeName,
  path: Path,
  config: TortureConfig,
  body: (fx: Fixture) => Promise<void>,
): Promise<void> {
  let fx: Fixture;
  if (path === "direct") fx = await start(runtime, config, 20_000, SCRIPT);
  else {
    const inherited = await listening();
    try {
      fx = await start(runtime, config, 20_000, SCRIPT, inherited.fd);
    } finally {
      inherited.server.close(); // The fixture holds its own copy; this one must not accept.
    }
  }
  try {
    await body(fx);
  } finally {
    fx.kill();
  }
}

/** SIGTERM, then the exit: code 0, within {@linkcode PROMPT_MS}, and the report graceful. */
async function promptGracefulExit(fx: Fixture, what: string): Promise<void> {
  const sent = fx.signal("SIGTERM");
  const exit = await exitOf(fx, DRAIN_TIMEOUT + 5_000);
  const took = exit.atMs - sent;
  assert.ok(
    took < PROMPT_MS,
    `${what}: exit ${
      took.toFixed(0)
    } ms after SIGTERM (drainTimeout ${DRAIN_TIMEOUT})\n${fx.describe()}`,
  );
  assert.equal(exit.code, 0, `${what}\n${fx.describe()}`);
}

/** A request head of ~200 bytes, to be sent one byte per 100 ms (~20 s in all). */
const SLOW_HEAD = [
  ...`GET /fast HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${"p".repeat(150)}\r\n\r\n`,
];

/** A `POST` announcing 1 MB to `path`, then its body in 10-byte pieces (sent 100 ms apart). */
function slowUpload(path: string): string[] {
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n`;
  return [head, ...Array.from({ length: 300 }, () => "u".repeat(10))];
}

forEachRuntime("torture: connections that hold the drain", (runtime) => {
  describe(`torture: connections without a request in flight on ${runtime}`, () => {
    after(killLeftovers);

    for (const path of ["direct", "inherited"] as const) {
      test(`${path}: a silent connection opened 2.5 s before SIGTERM does not hold the drain`, async () => {
        await withPath(runtime, path, { drainTimeout: DRAIN_TIMEOUT }, async (fx) => {
          const silent = exchange(fx.port, [], { ms: DRAIN_TIMEOUT + 5_000 });
          await sleep(2_500);
          await promptGracefulExit(fx, "one silent connection, 2.5 s old");
          await silent;
        });
      });

      test(`${path}: a slowloris head in progress at SIGTERM does not hold the drain`, async () => {
        await withPath(runtime, path, { drainTimeout: DRAIN_TIMEOUT }, async (fx) => {
          const slow = exchange(fx.port, SLOW_HEAD, { ms: 30_000, gapMs: 100 });
          await sleep(1_000);
          await promptGracefulExit(fx, "a head arriving one byte per 100 ms");
          const r = await slow;
          assert.notEqual(r.end, "timeout", "the connection was still open after the exit");
        });
      });

      // Deno.serve (2.9.6) keeps a connection open while the body its handler left unread
      // arrives, and shutdown() waits for it (no upstream issue found; deno#36624 is near).
      // lameduck cannot help: the body is out of reach once the response completed (`Request
      // closed`), and taking it earlier would break a response that reads it. Asserted as such,
      // so a Deno that stops waiting shows up here.
      const held = runtime === "deno" && path === "direct";
      test(
        held
          ? "known runtime limitation (Deno): direct: a slow upload to a handler that answered without reading it holds Deno's shutdown() to the deadline (exit 1); the response arrives whole"
          : `${path}: a slow upload to a handler that answered without reading it: the response arrives whole, the drain is not held`,
        async () => {
          await withPath(runtime, path, { drainTimeout: DRAIN_TIMEOUT }, async (fx) => {
            const upload = exchange(fx.port, slowUpload("/fast"), { ms: 30_000, gapMs: 100 });
            await sleep(300); // answered at once; the body goes on arriving
            if (held) {
              const sent = fx.signal("SIGTERM");
              const exit = await exitOf(fx, DRAIN_TIMEOUT + 5_000);
              assert.equal(exit.code, 1, `Deno no longer holds the drain: update the README`);
              assert.ok(exit.atMs - sent >= DRAIN_TIMEOUT, fx.describe());
            } else await promptGracefulExit(fx, "a slow upload to /fast");
            const r = await upload;
            assert.equal(r.status, 200, `the client got ${JSON.stringify(r.text)} (${r.end})`);
            assert.equal(r.text.slice(r.text.indexOf("\r\n\r\n") + 4), "fast", r.text);
          });
        },
      );
    }
  });
});
