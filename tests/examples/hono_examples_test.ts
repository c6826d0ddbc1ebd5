/**
 * Runs each Hono example in its own runtime as a user would (`PORT=0`, on 127.0.0.1), and checks
 * what the example promises: `getConnInfo` sees the client, `/readyz` answers, and on SIGTERM an
 * open SSE stream gets its final event and a complete chunked body, an open WebSocket (Deno,
 * Bun) is closed with 1001, both while the lame-duck window still serves, then the shutdown
 * hook runs and the process exits 0.
 *
 *     node_modules/.bin/node --test tests/examples/*_test.ts
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { test } from "node:test";
import { binaryOf, ROOT, type RuntimeName } from "../contract/runtimes.ts";
import { within } from "../shared/time.ts";
import { RawConnection } from "../contract/client_raw_http.ts";
import { exampleCases, get } from "./example_harness.ts";

const EXAMPLES = [
  { runtime: "bun", args: ["examples/hono-bun.ts"], webSocket: true, whoami: true },
  { runtime: "deno", args: ["run", "-A", "examples/hono-deno.ts"], webSocket: true, whoami: true },
  { runtime: "node", args: ["examples/hono-node.ts"], webSocket: false, whoami: true },
] satisfies { runtime: RuntimeName; args: string[]; webSocket: boolean; whoami: boolean }[];

exampleCases(EXAMPLES);

// Under `lameduck run` (an inherited socket, served through node:http on every runtime) the Bun
// and Deno examples' `/whoami` still answers (on Bun through hono/bun's getConnInfo and the
// stand-in `c.env.server`), and the worker warns only about what applies: the Bun example passes
// Bun's `websocket` handlers, which cannot take effect there; the Deno example, nothing.
for (const { runtime, args, webSocket } of EXAMPLES.filter((e) => e.runtime !== "node")) {
  test(`examples/${args.at(-1)!.split("/").at(-1)} under lameduck run: /whoami answers, a warning only where it applies`, async () => {
    const child = spawn(
      binaryOf("node"),
      [
        "src/supervisor/cli.ts",
        "run",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--",
        binaryOf(runtime),
        ...args,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PORT: "0", LAME_DUCK_MS: "0", NO_COLOR: "1" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let log = "";
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (log += s));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const deadline = Date.now() + 30_000;
      while (!/worker 1 \(pid \d+\) ready/.test(log)) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for worker 1\n${log}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const port = Number(/socket 127\.0\.0\.1:(\d+) /.exec(log)![1]);
      const { res, localPort } = await get(port, "/whoami");
      assert.equal(res.status, 200, log);
      const remote = JSON.parse(res.body) as { address?: string; port?: number };
      assert.deepEqual([remote.address, remote.port], ["127.0.0.1", localPort]);
      // The worker's lines name it (lameduck run's LAMEDUCK_WORKER_ID).
      const warnings = log.match(/lameduck\[worker 1, pid \d+\]: .*node:http.*/g) ?? [];
      if (runtime === "bun") {
        assert.equal(warnings.length, 1, log);
        assert.match(warnings[0]!, /Bun's websocket handlers are ignored/);
        // hono/bun's upgradeWebSocket calls the stand-in's upgrade(): said where it applies.
        const conn = await RawConnection.connect(port);
        try {
          conn.socket.write(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
          );
          const deadline = Date.now() + 10_000;
          while (!/server\.upgrade\(\) was called/.test(log) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 25));
          }
        } finally {
          conn.destroy();
        }
        assert.match(
          log,
          /lameduck\[worker 1, pid \d+\]: bun: server\.upgrade\(\) was called, .*upgradeWebSocket does not work/,
        );
      } else assert.deepEqual(warnings, [], log);
      void webSocket;
    } finally {
      // SIGTERM, so the supervisor drains and stops its worker (its own process group).
      child.kill("SIGTERM");
      await within(exited, 15_000, `the supervisor to exit\n${log}`).finally(() =>
        child.kill("SIGKILL")
      );
    }
  });
}
