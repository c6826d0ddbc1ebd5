/**
 * WebSockets on Node through the `websocket` option: Hono's `@hono/node-ws` with no glue
 * (`websocket: injectWebSocket`) and a plain `ws` server; and on an inherited socket
 * (`lameduck run`, systemd), where every runtime serves through `node:http`, the same way. At SIGTERM an open WebSocket gets
 * `1001 Going Away` and the process exits 0 once it closed; a client that never answers the
 * close is cut at the drain deadline and counted as aborted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import WebSocket from "ws";
import { binaryOf, ROOT, type RuntimeName, RUNTIMES } from "../contract/runtimes.ts";

interface Started {
  child: ChildProcess;
  port: Promise<number>;
  report: Promise<{ graceful: boolean; completed: number; aborted: number }>;
  exit: Promise<number | string>;
  stderr: () => string;
}

function start(
  env: Record<string, string>,
  inherited?: { runtime: RuntimeName; fd: number },
): Started {
  const script = "tests/websocket/ws_server.ts";
  const child = inherited === undefined
    ? spawn(binaryOf("node"), [script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    // LISTEN_PID must be the server's own PID: exec keeps the shell's.
    : spawn("/bin/sh", [
      "-c",
      'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"',
      "sh",
      binaryOf(inherited.runtime),
      ...(inherited.runtime === "deno" ? ["run", "-A"] : []),
      script,
    ], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe", inherited.fd],
    });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => err += d);
  const lineOf = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = out.split("\n").find((l) => l.startsWith(prefix));
        if (line) resolve(line.slice(prefix.length));
      };
      child.stdout!.on("data", (d) => {
        out += d;
        check();
      });
      child.once("exit", () => {
        check();
        reject(new Error(`no "${prefix}" line; stderr: ${err}`));
      });
    });
  return {
    child,
    port: lineOf("ready ").then(Number),
    report: lineOf("report ").then((json) => JSON.parse(json)),
    exit: new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal!))),
    stderr: () => err,
  };
}

function open(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once("message", (data) => resolve(String(data)));
    ws.send(text);
  });
}

for (const mode of ["hono", "ws"]) {
  describe(`WebSockets on Node (${mode === "hono" ? "@hono/node-ws" : "plain ws"})`, () => {
    test("an open WebSocket gets 1001 Going Away at shutdown and the process exits 0", async () => {
      const s = start({ WS_MODE: mode });
      try {
        const port = await s.port;
        const ws = await open(port);
        assert.equal(await echo(ws, "hi"), "echo hi");
        const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
        s.child.kill("SIGTERM");
        assert.equal(await closed, 1001);
        const report = await s.report;
        assert.equal(report.graceful, true);
        assert.equal(report.aborted, 0);
        assert.equal(await s.exit, 0, s.stderr());
        assert.match(s.stderr(), /draining 1 request/, "the WebSocket counts as in flight");
        assert.equal(report.completed, 1, "the WebSocket counted in flight ended as completed");
        assert.match(s.stderr(), /: 1 completed, 0 aborted/);
      } finally {
        s.child.kill("SIGKILL");
      }
    });
  });
}

test("a WebSocket client that never answers the close is cut at the deadline and counted as aborted", async () => {
  const s = start({ WS_MODE: "hono", DRAIN_MS: "400" });
  try {
    const port = await s.port;
    // A raw client: the handshake, then silence (it never reads a close frame nor answers it).
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await new Promise<void>((resolve) => {
      let head = "";
      socket.on("data", (d) => {
        head += d.toString("latin1");
        if (head.includes("\r\n\r\n")) resolve();
      });
    });
    const cut = new Promise((resolve) => socket.once("close", resolve));
    s.child.kill("SIGTERM");
    const report = await s.report;
    assert.equal(report.graceful, false);
    assert.equal(report.aborted, 1);
    await cut;
    assert.equal(await s.exit, 1, s.stderr());
  } finally {
    s.child.kill("SIGKILL");
  }
});

for (const runtime of RUNTIMES) {
  test(`inherited socket on ${runtime}: a ws server through the websocket option serves WebSockets, 1001 at shutdown`, async () => {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
    const s = start({ WS_MODE: "ws" }, { runtime, fd });
    listener.close(); // The server holds its own copy now; the test's must not accept.
    try {
      assert.equal(await s.port, port);
      const ws = await open(port);
      assert.equal(await echo(ws, "hi"), "echo hi");
      const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
      s.child.kill("SIGTERM");
      assert.equal(await closed, 1001);
      assert.equal((await s.report).graceful, true);
      assert.equal(await s.exit, 0, s.stderr());
    } finally {
      s.child.kill("SIGKILL");
    }
  });
}
