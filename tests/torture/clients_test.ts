/**
 * Torture: clients that misbehave (abort mid-request-body, abort mid-response-body, send their
 * headers one byte per 100 ms), on real Deno, Bun and Node processes. `inFlight` must come back
 * to 0, other clients must not notice, and a shutdown must end by its deadline.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "node:net";
import type net from "node:net";
import { after, describe, test } from "node:test";
import { forEachRuntime } from "../contract/runtime_selection.ts";
import { killLeftovers } from "../contract/fixture_process.ts";
import { is } from "../contract/fixture_events.ts";
import { now, PROMPT_MS, sleep } from "../shared/time.ts";
import {
  exchange,
  exitOf,
  get,
  inFlightOf,
  leaks,
  settleInFlight,
  withFixture,
} from "./helpers.ts";

/** A request head sent one byte at a time; with the pad it takes ~`bytes` × 100 ms. */
function dribbled(path: string, padBytes: number): string[] {
  const pad = padBytes > 0 ? `X-Pad: ${"p".repeat(padBytes)}\r\n` : "";
  return [...`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${pad}Connection: close\r\n\r\n`];
}

/** Stops reading (so the server's writes back up) once `bytes` arrived. */
const stallAfter = (bytes: number) => (socket: net.Socket): void => {
  let got = 0;
  socket.on("data", (b: Buffer) => {
    got += b.length;
    if (got >= bytes) socket.pause();
  });
};

/**
 * A client that stops reading once 64 KiB arrived (so the server's writes back up) until
 * `resume()`.
 */
function pausedReader(): { onSocket: (socket: net.Socket) => void; resume: () => void } {
  let client: net.Socket | undefined;
  return {
    onSocket: (socket) => {
      client = socket;
      let got = 0;
      const stall = (b: Buffer) => {
        got += b.length;
        if (got < 64 * 1024) return;
        socket.pause();
        socket.off("data", stall);
      };
      socket.on("data", stall);
    },
    resume: () => client?.resume(),
  };
}

forEachRuntime("torture: abusive clients", (runtime) => {
  describe(`torture: misbehaving clients on ${runtime}`, () => {
    after(killLeftovers);

    test("clients that abort mid-request-body leave inFlight at 0; the server goes on serving", async () => {
      await withFixture(runtime, { probe: true }, async (fx) => {
        const head = "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n";
        const partial = [
          `${head}Content-Length: 1048576\r\n\r\n${"a".repeat(10_000)}`,
          `${head}Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n`,
        ];
        for (const request of partial) await exchange(fx.port, request, { ms: 400 });
        await fx.waitFor(
          () => fx.events.filter((e) => e.event === "upload-failed").length === 2,
          5_000,
          "request.arrayBuffer() to reject for both aborted uploads",
        );
        assert.deepEqual(await settleInFlight(fx, 3_000), [0], "inFlight after the aborts");
        const whole = `${head}Content-Length: 5\r\nConnection: close\r\n\r\nhello`;
        const r = await exchange(fx.port, whole);
        assert.equal(r.status, 200, r.text);
        assert.ok(r.text.endsWith("got 5"), r.text);
        fx.signal("SIGTERM");
        assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
      });
    });

    test("clients that abort mid-response-body leave inFlight at 0, and SIGTERM then drains at once with exit 0", async () => {
      await withFixture(runtime, { probe: true, drainTimeout: 5_000 }, async (fx) => {
        const problems: string[] = [];
        for (const path of ["/stream-forever", "/stream-forever?watch=1", "/big?watch=1"]) {
          const r = exchange(fx.port, get(path), { ms: 600, onSocket: stallAfter(64 * 1024) });
          await sleep(300);
          const during = await inFlightOf(fx);
          if (during[0] !== 1) problems.push(`${path}: inFlight ${during} while streaming`);
          await r;
        }
        for (const path of ["/big", "/big-static"]) {
          await exchange(fx.port, get(path), { ms: 400, onSocket: stallAfter(64 * 1024) });
        }
        const seen = await settleInFlight(fx, 5_000);
        if (seen[0] !== 0) problems.push(`inFlight ${seen} 5 s after the clients left`);
        const cancelled = fx.events.filter((e) => e.event === "cancel").length;
        if (cancelled < 4) problems.push(`only ${cancelled} of 4 streams were cancelled`);
        assert.deepEqual(problems, [], `\n${problems.join("\n")}\n${fx.describe()}`);
        const sent = fx.signal("SIGTERM");
        const exit = await exitOf(fx, 10_000);
        assert.equal(exit.code, 0, fx.describe());
        assert.ok(
          exit.atMs - sent < PROMPT_MS,
          `exit ${(exit.atMs - sent).toFixed(0)} ms after SIGTERM`,
        );
      });
    });

    test("a keep-alive client reading a 4 MiB in-memory body slowly across SIGTERM gets all of it", async () => {
      // The body goes to the socket in one `end()` but cannot all reach the kernel at once: the
      // request is over only when it has (Node: not at `end()`), so shutdown must not close the
      // connection as idle under it.
      await withFixture(runtime, { probe: true }, async (fx) => {
        const reader = pausedReader();
        const r = exchange(fx.port, "GET /big-static?mb=4 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {
          ms: 15_000,
          onSocket: reader.onSocket,
        });
        await sleep(500);
        fx.signal("SIGTERM");
        await sleep(1_000); // lameDuck is 0: the listener has closed, idle connections with it.
        reader.resume();
        const { text, end } = await r;
        const split = text.indexOf("\r\n\r\n");
        const length = Number(/content-length: (\d+)/i.exec(text.slice(0, split))?.[1]);
        assert.equal(length, 4 * 1024 * 1024, text.slice(0, split));
        assert.equal(text.length - split - 4, length, `body cut short (${end}): ${fx.describe()}`);
        assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
      });
    });

    const pipelined = runtime === "bun"
      ? "known runtime limitation (Bun): a request pipelined behind a pending response closes the connection, answering neither"
      : "pipelined: a slow answer, then a 4 MiB in-memory body read slowly across SIGTERM: both arrive whole";
    test(pipelined, async () => {
      // The second response waits in Node's queue behind the first, not on the socket.
      await withFixture(runtime, { probe: true }, async (fx) => {
        const reader = pausedReader();
        const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
        const r = exchange(fx.port, head("/slow?ms=300") + head("/big-static?mb=4"), {
          ms: 15_000,
          onSocket: reader.onSocket,
        });
        await sleep(800);
        fx.signal("SIGTERM");
        await sleep(1_000);
        reader.resume();
        const { text, end } = await r;
        if (runtime === "bun") {
          // Bun 1.4.5: Bun.serve (uWS) closes a connection on which a request arrives while the
          // response ahead of it is pending, writing nothing of either (oven-sh/bun#38128,
          // open). Asserted so that a Bun that fixes it shows here; docs/runtimes.md says.
          assert.equal(text, "", `Bun answered a pipelined request: update runtimes.md (${end})`);
          assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
          return;
        }
        const first = text.indexOf("slow done");
        assert.ok(first > 0, `the first response: ${text.slice(0, 300)}`);
        const second = text.indexOf("HTTP/1.1 200", first);
        const split = text.indexOf("\r\n\r\n", second);
        const length = Number(/content-length: (\d+)/i.exec(text.slice(second, split))?.[1]);
        assert.equal(length, 4 * 1024 * 1024, text.slice(second, split));
        assert.equal(text.length - split - 4, length, `body cut short (${end}): ${fx.describe()}`);
        assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
      });
    });

    if (runtime === "node") {
      // Deno and Bun write the response themselves: lameduck cannot tell a write that failed
      // from one that went out, so there a synchronous answer is a successful one.
      test("Node: a client that resets its connection before its synchronous answer is written: ctx.signal aborts", async () => {
        await withFixture(runtime, { probe: true }, async (fx) => {
          // The server is busy for 1 s; meanwhile the client sends its request and resets.
          const busy = exchange(fx.port, get("/busy?ms=1000"), { ms: 5_000 });
          await fx.waitFor(is("entered", "/busy"), 5_000, "the server to be busy");
          const socket = await new Promise<net.Socket>((resolve, reject) => {
            const s = connect(fx.port, "127.0.0.1", () => resolve(s)).once("error", reject);
          });
          const head = "GET /sync?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
          await new Promise((resolve) => socket.write(head, resolve));
          await sleep(50);
          socket.resetAndDestroy();
          assert.equal((await busy).status, 200);
          // Node reads the request before the reset (data first, then the error), answers it,
          // and the write fails at once.
          await fx.waitFor(is("entered", "/sync"), 5_000, "the request to be handled");
          await fx.waitFor(is("aborted", "/sync"), 5_000, "ctx.signal to abort");
          fx.signal("SIGTERM");
          assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
        });
      });

      test("Node: a 'close' listener the handler puts on ctx.outgoing sees ctx.signal aborted when the client left", async () => {
        await withFixture(runtime, { probe: true }, async (fx) => {
          await exchange(fx.port, get("/outgoing-close?ms=2000"), { ms: 300 });
          const seen = await fx.waitFor(
            (e) => e.event === "outgoing-close",
            5_000,
            "the handler's 'close' listener",
          );
          assert.equal(seen.aborted, true, fx.describe());
          fx.signal("SIGTERM");
          assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
        });
      });
    }

    test("a slowloris client (one header byte per 100 ms) does not delay other clients and is answered", async () => {
      await withFixture(runtime, { probe: true }, async (fx) => {
        const slow = exchange(fx.port, dribbled("/fast", 0), { ms: 20_000, gapMs: 100 });
        await sleep(500);
        let worst = 0;
        for (let i = 0; i < 20; i++) {
          const t = now();
          const r = await exchange(fx.port, get("/fast"));
          worst = Math.max(worst, now() - t);
          assert.equal(r.status, 200, `request ${i} beside the slowloris: ${r.end}`);
        }
        assert.ok(
          worst < PROMPT_MS,
          `the slowest request beside the slowloris took ${worst.toFixed(0)} ms`,
        );
        const r = await slow;
        assert.equal(r.status, 200, `the slowloris client: ${r.end} ${JSON.stringify(r.text)}`);
        assert.ok(r.text.endsWith("fast"), r.text);
        assert.deepEqual(await settleInFlight(fx, 3_000), [0]);
        fx.signal("SIGTERM");
        assert.equal((await exitOf(fx, 10_000)).code, 0, fx.describe());
      });
    });

    test("SIGTERM during a slowloris request that would take 20 s ends by drainTimeout", async () => {
      const drainTimeout = 1_500;
      await withFixture(runtime, { probe: true, drainTimeout }, async (fx) => {
        const slow = exchange(fx.port, dribbled("/fast", 150), { ms: 30_000, gapMs: 100 });
        await sleep(1_000);
        const sent = fx.signal("SIGTERM");
        const exit = await exitOf(fx, 15_000);
        const took = exit.atMs - sent;
        const r = await slow;
        console.log(
          `# ${runtime}: slowloris mid-head at SIGTERM: exit ${exit.code} after ${
            took.toFixed(0)
          } ms; the client got ${r.status || "no response"} (${r.end})`,
        );
        assert.ok(took < drainTimeout + PROMPT_MS, `exit ${took.toFixed(0)} ms after SIGTERM`);
        assert.deepEqual(leaks(r.text), []);
      });
    });

    // README step 3: a request head still arriving gets 1 s to complete, then is answered.
    // Not on Deno: its shutdown() closes a connection whose request head is incomplete, and
    // lameduck cannot reach that connection (docs/runtimes.md table). Asserted as such, so
    // a Deno release that fixes it shows up here.
    test(
      runtime === "deno"
        ? "known runtime limitation (Deno): a request still arriving byte by byte at SIGTERM gets no response (Deno's shutdown() closes it); exit 0"
        : "a request head still arriving byte by byte at SIGTERM, complete within the arrival grace (1 s), is answered (Connection: close) before its connection closes; exit 0",
      async () => {
        await withFixture(runtime, { probe: true, drainTimeout: 8_000 }, async (fx) => {
          // All but its last 5 bytes at once, then one byte per 100 ms: ~300 ms still to come
          // at SIGTERM. A head that takes longer is closed (holders_test.ts).
          const head = dribbled("/fast", 0).join("");
          const pieces = [head.slice(0, -5), ...head.slice(-5)];
          const slow = exchange(fx.port, pieces, { ms: 20_000, gapMs: 100 });
          await sleep(250);
          const sent = fx.signal("SIGTERM");
          const r = await slow;
          const exit = await exitOf(fx, 15_000);
          console.log(
            `# ${runtime}: half-sent head at SIGTERM: the client got ${
              r.status || "no response"
            } (${r.end}) ${(now() - sent).toFixed(0)} ms after SIGTERM; exit ${exit.code}`,
          );
          if (runtime === "deno") {
            assert.equal(
              r.status,
              0,
              `Deno answered: ${JSON.stringify(r.text)}: update runtimes.md`,
            );
          } else {
            assert.equal(r.status, 200, `the client got ${JSON.stringify(r.text)} (${r.end})`);
            assert.match(r.text, /\r\nconnection: close\r\n/i);
          }
          assert.equal(exit.code, 0, fx.describe());
        });
      },
    );
  });
});
