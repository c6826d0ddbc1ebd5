/**
 * The notify channel takes notices only from its worker: a process that finds the socket (it
 * sits in `$TMPDIR`) cannot report the worker ready, and a line without end is cut at 4096
 * characters instead of growing the supervisor.
 *
 * @module
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { binaryOf } from "../contract/runtimes.ts";
import { sleep, within } from "../shared/time.ts";
import { LOOPBACK, supervise } from "./spawn.ts";

const tmp = mkdtempSync(join(tmpdir(), "lameduck-notify-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A supervisor whose worker never calls serve(), and a connection to worker 1's socket. */
async function stranger(readyTimeout: number) {
  const own = mkdtempSync(join(tmp, "t-"));
  const sup = supervise(
    [...LOOPBACK, "--ready-timeout", String(readyTimeout)],
    { env: { TMPDIR: own } },
    [binaryOf("node"), "-e", "setInterval(() => {}, 1000)"],
  );
  await sup.until(/worker 1 started/, "worker 1 to start");
  const find = async () => {
    for (;;) {
      const run = readdirSync(own).find((name) => name.startsWith("lameduck-run-"));
      const path = run && join(own, run, "worker-1.sock");
      if (path && existsSync(path)) return path;
      await sleep(25);
    }
  };
  const path = await within(find(), 5_000, "worker 1's notify socket");
  const socket: Socket = createConnection({ path });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise((resolve) => socket.once("connect", resolve));
  return { sup, socket, closed };
}

test("READY=1 from a process without the worker's token is dropped: the worker is not ready", async () => {
  const { sup, socket, closed } = await stranger(1500);
  try {
    socket.write("READY=1\nSTATUS=serving on port 1\n");
    await within(closed, 5_000, `the connection to be dropped\n${sup.log()}`);
    await sup.until(
      /worker 1 \(pid \d+\): notify connection dropped: it did not open with the worker's token/,
      "the drop to be logged",
    );
    assert.equal(await within(sup.exited, 10_000, "the supervisor to give up"), 1, sup.log());
    assert.doesNotMatch(sup.log(), /worker 1 \(pid \d+\) ready/);
    assert.match(sup.log(), /not ready after 1500 ms \(it never connected to the notify socket/);
  } finally {
    socket.destroy();
    sup.kill();
  }
});

test("a notice line without a newline is cut at 4096 characters: the connection is dropped, the supervisor stays small", async () => {
  const { sup, socket, closed } = await stranger(20_000);
  try {
    const chunk = "x".repeat(64 * 1024);
    let sent = 0;
    let open = true;
    void closed.then(() => (open = false));
    // Up to 32 MiB, as fast as the supervisor reads it, until it hangs up.
    while (open && sent < 32 * 1024 * 1024) {
      if (!socket.write(chunk)) {
        await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed]);
      }
      sent += chunk.length;
    }
    await within(closed, 5_000, `the connection to be dropped after ${sent} bytes\n${sup.log()}`);
    await sup.until(
      /worker 1 \(pid \d+\): notify connection dropped: more than 4096 characters without a newline/,
      "the drop to be logged",
    );
    const status = readFileSync(`/proc/${sup.child.pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    assert.ok(rss < 150, `the supervisor's RSS is ${rss.toFixed(0)} MiB after ${sent} bytes`);
    sup.child.kill("SIGTERM");
    assert.equal(await within(sup.exited, 10_000, "the supervisor to exit"), 0, sup.log());
  } finally {
    socket.destroy();
    sup.kill();
  }
});
